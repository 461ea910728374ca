#!/bin/sh
# The memory monitor's per-tick cost with many real processes: registers
# N sleeping processes (default 1000, each registered by its parent on its
# own connection) with -M memory:interval=1 and reports the daemon's CPU
# time per round, the longest the loop was held by a tick or a slice
# (SPEC 9: no pass over 5 ms), and the status round trip while a round
# samples beside the one between rounds (target: at most 2x).
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

# The daemon's CPU per round, alone; then status calls all along, each
# stamped with its wall time and sorted by whether a round was sampling
# when it was sent.
my ($quiet_cpu0, $quiet_t0) = (cpu_ns($daemon), time);
sleep 3;
my ($quiet_cpu1, $quiet_t1) = (cpu_ns($daemon), time);
my $probe = IO::Socket::UNIX->new(Peer => $socket) or die "connect: $!\n";
$probe->autoflush(1);
my @calls;
my ($cpu0, $t0) = (cpu_ns($daemon), time);
while (time < $t0 + $opt{t}) {
	my $sent = time;
	print $probe qq({"id":4,"do":"status"}\n);
	while (my $line = <$probe>) {
		last if $line =~ /"finished":true/;
	}
	push @calls, [$sent, (time - $sent) * 1000];
	sleep 0.003;
}
my ($cpu1, $t1) = (cpu_ns($daemon), time);

# A round starts at its tick and ends duration_ms later; holds are the
# ticks' and slices' duration_us.
my (@rounds, @holds, @tick_at);
my $slices = 0;
open(my $fh, '<', $log) or die "$log: $!";
while (<$fh>) {
	if (/^debug monitor (tick|slice) name=memory at=(\d+\.\d+) duration_us=(\d+)/) {
		next if $2 < $t0 || $2 >= $t1;
		push @holds, $3;
		push @tick_at, $2 if $1 eq 'tick';
	} elsif (/^debug memory monitor: round done processes=\d+ slices=(\d+) duration_ms=(\d+)/) {
		push @rounds, [$1, $2];
	}
}
close $fh;
cleanup();
die "monitor-tick: no ticks logged\n" unless @tick_at;
# Rounds end in order; pair the last ones with the ticks that began them.
my @spans;
for my $i (0 .. $#tick_at) {
	my $round = $rounds[$#rounds - $#tick_at + $i] or next;
	push @spans, [$tick_at[$i], $tick_at[$i] + $round->[1] / 1000];
	$slices += $round->[0];
}
my (@during, @between);
for my $call (@calls) {
	my ($sent, $ms) = @$call;
	if (grep { $sent >= $_->[0] && $sent < $_->[1] } @spans) { push @during, $ms } else { push @between, $ms }
}
sub median { my @v = sort { $a <=> $b } @_; @v ? $v[$#v / 2] : 0 }
@holds = sort { $a <=> $b } @holds;
my $ticks = @tick_at;
# Rounds per second of wall time, as the interval sets them.
my $cpu_ms = ($quiet_cpu1 - $quiet_cpu0) / 1e6 / (($quiet_t1 - $quiet_t0) * $ticks / ($t1 - $t0));
printf "monitor-tick: %d processes, -M %s: %d rounds in %.1f s, %.1f slices each; per round: CPU %.2f ms (%.1f us/process)\n",
    $opt{n}, $opt{M}, $ticks, $t1 - $t0, $slices / ($ticks || 1), $cpu_ms, $cpu_ms * 1000 / $opt{n};
printf "monitor-tick: loop held by a tick or slice: median %.2f ms, 99th percentile %.2f ms, longest %.2f ms (target <= 5 ms)\n",
    median(@holds) / 1000, $holds[int(0.99 * $#holds)] / 1000, $holds[-1] / 1000;
printf "monitor-tick: status round trip while a round samples %.2f ms (%d calls) vs between rounds %.2f ms (%d calls): %.2fx (target <= 2x)\n",
    median(@during), scalar @during, median(@between), scalar @between,
    median(@between) > 0 ? median(@during) / median(@between) : 0;
