# Helpers for the client and worker tests: run a client command and capture
# what it prints, start a worker wrapper, find it in the daemon's status.
package WorkerTest;

use strict;
use warnings;
use Exporter 'import';
use File::Temp qw(tempdir);
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time sleep);
use SupTest;

our @EXPORT = qw(run_client start_worker wait_for_worker status_entries proc_state
    exit_code scratch_dir);

my $SCRATCH = tempdir('supervisord-client-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{KEEP_SCRATCH});
my $runs = 0;

sub scratch_dir { $SCRATCH }

# Runs `supervisord -s SOCKET ARGS...`; returns (exit code, stdout, stderr).
# The exit code is 128+N when the client was killed by signal N.
sub run_client {
	my ($socket, @args) = @_;
	my %opt = ref $args[-1] eq 'HASH' ? %{ pop @args } : ();
	$runs++;
	my ($out, $err) = ("$SCRATCH/out.$runs", "$SCRATCH/err.$runs");
	my $pid = spawn([SupTest::binary(), '-s', $socket, @args], stdout => $out, stderr => $err);
	my $status = reap_pid($pid, $opt{timeout} // 40);
	if (!defined $status) {
		kill 'KILL', $pid;
		$status = reap_pid($pid, 5);
	}
	return (exit_code($status), slurp($out), slurp($err));
}

sub exit_code {
	my ($status) = @_;
	return undef unless defined $status;
	return 128 + ($status & 127) if $status & 127;
	return $status >> 8;
}

# Starts `supervisord -s SOCKET worker WORKER_ARGS...`; returns its pid.
sub start_worker {
	my ($socket, @args) = @_;
	my %opt = ref $args[-1] eq 'HASH' ? %{ pop @args } : ();
	$runs++;
	my $log = $opt{log} // "$SCRATCH/worker.$runs.log";
	return spawn([SupTest::binary(), '-s', $socket, 'worker', @args], stderr => $log,
	    stdout => $log, new_group => $opt{new_group});
}

# The connections in the daemon's status, as hashes.
sub status_entries {
	my ($daemon) = @_;
	my $c = eval { $daemon->client } or return ();
	my $final = $c->call_final('status');
	$c->close;
	return $final && $final->{connections} ? @{ $final->{connections} } : ();
}

# Waits until a connection registered under name satisfies $cond (optional);
# returns its status entry, or undef.
sub wait_for_worker {
	my ($daemon, $name, $cond, $timeout) = @_;
	my $found;
	wait_until(sub {
		for my $entry (status_entries($daemon)) {
			next unless ($entry->{state}{name} // '') eq $name;
			next if $cond && !$cond->($entry);
			$found = $entry;
			return 1;
		}
		return 0;
	}, $timeout // 10);
	return $found;
}

# The state letter of a process from /proc (R, S, Z, ...), or '' when it is gone.
sub proc_state {
	my ($pid) = @_;
	my $stat = slurp("/proc/$pid/stat");
	return $stat =~ /\)\s+(\S)/ ? $1 : '';
}

1;
