#!/bin/sh
# The memory monitor's per-tick cost with many real processes: registers
# N sleeping processes (default 1000, each registered by its parent on its
# own connection) with -M memory:interval=1 and reports the daemon's CPU
# time and wall time per tick.
#
#   bench/monitor-tick.sh [-n PROCESSES] [-t SECONDS] [-M SPEC]
#
# SUPERVISORD names the binary to measure (default ./supervisord).
# One connection per process needs fds: raise the soft limit first.
ulimit -n "$(ulimit -Hn)" 2>/dev/null
exec perl -x "$0" "$@"

#!perl
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use Fcntl qw(F_GETFD F_SETFD FD_CLOEXEC);
use File::Temp qw(tempdir);
use Getopt::Std;
use IO::Select;
use IO::Socket::UNIX;
use POSIX qw(WNOHANG);
use Time::HiRes qw(time sleep);

my %opt = (n => 1000, t => 10, M => 'memory:interval=1');
getopts('n:t:M:', \%opt) or die "usage: monitor-tick.sh [-n PROCESSES] [-t SECONDS] [-M SPEC]\n";
my $root = abs_path(dirname(abs_path($0)) . '/..');
my $binary = $ENV{SUPERVISORD} // "$root/supervisord";
-x $binary or die "monitor-tick: no $binary; run make first\n";
my $dir = tempdir('supervisord-bench-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $socket = "$dir/s.ipc";
my $log = "$dir/daemon.log";
my (@sleepers, $daemon);

sub cleanup {
	kill 'TERM', $daemon if $daemon;
	kill 'KILL', @sleepers if @sleepers;
	waitpid($_, 0) for grep { defined } $daemon, @sleepers;
	($daemon, @sleepers) = ();
}
$SIG{INT} = $SIG{TERM} = sub { cleanup(); exit 1 };

sub start_daemon {
	pipe(my $ready_r, my $ready_w) or die "pipe: $!";
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		close $ready_r;
		open(STDERR, '>', $log) or die "$log: $!";
		fcntl($ready_w, F_SETFD, fcntl($ready_w, F_GETFD, 0) & ~FD_CLOEXEC);
		exec($binary, '-s', $socket, '-l', 'debug', '-M', $opt{M},
		    '--ready-fd', fileno($ready_w)) or POSIX::_exit(127);
	}
	close $ready_w;
	IO::Select->new($ready_r)->can_read(10) && defined(<$ready_r>)
	    or die "monitor-tick: the daemon did not start:\n" . `cat $log`;
	return $pid;
}

sub cpu_ns {
	my ($pid) = @_;
	open(my $fh, '<', "/proc/$pid/schedstat") or return undef;
	my ($ns) = split ' ', scalar <$fh>;
	return $ns;
}

sub ticks_between {
	my ($from, $to) = @_;
	open(my $fh, '<', $log) or return ();
	my @us;
	while (<$fh>) {
		next unless /^debug monitor tick name=\w+ at=(\d+\.\d+) duration_us=(\d+)/;
		push @us, $2 if $1 >= $from && $1 < $to;
	}
	return @us;
}

$daemon = start_daemon();
for (1 .. $opt{n}) {
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		open(STDIN, '<', '/dev/null');
		exec('sleep', '3600') or POSIX::_exit(127);
	}
	push @sleepers, $pid;
}
my @conns;
for my $pid (@sleepers) {
	my $c = IO::Socket::UNIX->new(Peer => $socket) or die "connect: $! (raise the fd limit?)\n";
	$c->autoflush(1);
	print $c qq({"id":2,"do":"register","state":{"process_id":$pid,"name":"bench"}}\n);
	push @conns, $c;
}
for my $c (@conns) {
	my $reply = <$c>;
	die "monitor-tick: register failed: " . ($reply // "no reply\n") unless $reply && $reply =~ /"connection_id"/;
}
sleep 2.2;	# every process sampled at least once

my ($cpu0, $t0) = (cpu_ns($daemon), time);
sleep $opt{t};
my ($cpu1, $t1) = (cpu_ns($daemon), time);
my @us = sort { $a <=> $b } ticks_between($t0, $t1);
my $ticks = @us;
cleanup();
die "monitor-tick: no ticks logged\n" unless $ticks;
my $cpu_ms = ($cpu1 - $cpu0) / 1e6 / $ticks;
printf "monitor-tick: %d processes, -M %s: %d ticks in %.1f s; per tick: CPU %.2f ms (%.1f us/process), wall median %.2f ms, max %.2f ms\n",
    $opt{n}, $opt{M}, $ticks, $t1 - $t0, $cpu_ms, $cpu_ms * 1000 / $opt{n},
    $us[$#us / 2] / 1000, $us[-1] / 1000;
