# Helpers for the monitor tests: real processes that hold real memory,
# registered by the test (their parent), and the daemon's log read back.
package MonTest;

use strict;
use warnings;
use Exporter 'import';
use File::Temp qw(tempdir);
use SupTest;
use Time::HiRes qw(time sleep);

our @EXPORT = qw(hog register_pid memory_section process_section log_lines
    signalled_pids killed_by MIB tick_count wait_ticks);

use constant MIB => 1024 * 1024;

my $DIR = tempdir('supervisord-mon-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $serial = 0;

# Reads from /dev/zero so every page is written, hence resident.
my $HOG = <<'PERL';
my ($mib, $ready, $step_mib, $step_seconds, $steps, $ignore) = @ARGV;
$SIG{INT} = $SIG{TERM} = $SIG{USR1} = 'DEFAULT';
$SIG{$ignore} = 'IGNORE' if $ignore;
open(my $zero, '<', '/dev/zero') or die "/dev/zero: $!";
my @hold = ('');
read($zero, $hold[0], $mib << 20) if $mib;
open(my $f, '>', $ready) or die "$ready: $!";
close($f);
for (1 .. $steps) {
	select(undef, undef, undef, $step_seconds);
	push(@hold, '');
	read($zero, $hold[-1], $step_mib << 20);
}
sleep 1 while 1;
PERL

# Starts a process holding $mib MiB; returns its pid once it holds them.
# %opt: step_mib, step_seconds, steps: grow by step_mib every step_seconds;
# ignore: a signal name to ignore.
sub hog {
	my ($mib, %opt) = @_;
	my $ready = "$DIR/ready-" . $serial++;
	my $pid = spawn(['perl', '-e', $HOG, $mib, $ready, $opt{step_mib} // 0,
	    $opt{step_seconds} // 1, $opt{steps} // 0, $opt{ignore} // '']);
	wait_until(sub { -e $ready }, 10) or die "hog of $mib MiB did not start";
	return $pid;
}

# Registers $pid (a child of this test) on a new connection, which is
# returned and must be kept open for as long as the pid should be followed.
sub register_pid {
	my ($daemon, $pid) = @_;
	my $client = $daemon->client;
	my $reply = $client->call_final('register', state => { process_id => $pid });
	die "register $pid failed: " . SupTest::json()->encode($reply)
	    unless $reply && $reply->{connection_id};
	return $client;
}

sub section {
	my ($client, $name) = @_;
	for my $reply ($client->call('status')) {
		return $reply->{$name} if exists $reply->{$name};
	}
	return undef;
}

sub memory_section { section($_[0], 'memory_monitor') }
sub process_section { section($_[0], 'process_monitor') }

sub log_lines {
	my ($daemon, $pattern) = @_;
	return grep { /$pattern/ } split /\n/, $daemon->log;
}

# The pids the memory monitor signalled, in the order it logged them.
sub signalled_pids {
	my ($daemon) = @_;
	return map { /process_id=(\d+)/ ? $1 : () }
	    log_lines($daemon, qr/^warn memory monitor: signalled process/);
}

sub tick_count {
	my ($daemon, $name) = @_;
	my $monitor = $name // 'memory';
	return scalar log_lines($daemon, qr/^debug monitor tick name=\Q$monitor\E /);
}

# Waits until the monitor has ticked $n more times and the daemon has finished
# that pass of its loop (it answers a request sent after the tick was logged).
sub wait_ticks {
	my ($daemon, $n, $name, $timeout) = @_;
	my $target = tick_count($daemon, $name) + $n;
	my $ok = SupTest::wait_until(sub { tick_count($daemon, $name) >= $target }, $timeout // 10);
	$daemon->client->call_final('status');
	return $ok;
}

# True if $pid exits, killed by signal $signo, within $timeout seconds.
sub killed_by {
	my ($pid, $signo, $timeout) = @_;
	my $status = SupTest::reap_pid($pid, $timeout);
	return defined $status && $status != -1 && ($status & 127) == $signo;
}

1;
