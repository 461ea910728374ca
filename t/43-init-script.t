#!/usr/bin/perl
# The SysV/LSB init script in examples/ starts the daemon in the background
# with a pidfile and a supervised worker, reports status, and stops both.
# Paths come from the environment, so it runs unprivileged in a temp dir.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Temp qw(tempdir);
use SupTest;
use WorkerTest;

my $script = "$FindBin::Bin/../examples/supervisord.init";
my $run = tempdir('supervisord-init-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my %env = (
	DEFAULTS => '/dev/null',
	DAEMON => SupTest::binary(),
	RUNDIR => $run,
	DAEMON_OPTS => '-l debug',
	WORKER_COMMAND => 'sleep 300',
	WORKER_NAME => 'initworker',
	WORKER_LOG => "$run/worker.log",
	STOP_TIMEOUT => 10,
);
my $pidfile = "$run/supervisord.pid";
my $worker_pidfile = "$run/initworker.pid";

# Runs the script with an action; returns (exit code, output).
sub init {
	my ($action) = @_;
	local @ENV{ keys %env } = values %env;
	my $out = "$run/out.$action";
	unlink $out;
	my $pid = spawn(['sh', $script, $action], stdout => $out, stderr => $out);
	return (exit_code(reap_pid($pid, 30)), slurp($out));
}

sub pid_in { my $text = slurp($_[0]); return $text =~ /^(\d+)/ ? $1 : undef }

# Whatever happens, leave nothing running.
END {
	for my $file ($worker_pidfile, $pidfile) {
		my $pid = -e $file ? pid_in($file) : undef;
		kill 'TERM', $pid if $pid;
	}
}

my ($rc, $out) = init('status');
is($rc, 3, 'status before start: 3 (not running)');
like($out, qr/supervisord is not running/, 'says so');

($rc, $out) = init('start');
is($rc, 0, 'start: exit 0') or diag $out;
my $daemon = pid_in($pidfile);
ok($daemon && kill(0, $daemon), 'the pidfile names a running daemon');
ok(-S "$run/supervisor.ipc", 'the socket listens');
my $wrapper = pid_in($worker_pidfile);
ok($wrapper && kill(0, $wrapper), 'the worker wrapper runs');

my $registered = wait_until(sub {
	my ($code, $table) = run_client("$run/supervisor.ipc", 'status');
	return $code == 0 && $table =~ /^\w{8,}\s+initworker\s+\d+\s+running\b/m;
}, 10);
ok($registered, 'the worker registered with the daemon');

($rc, $out) = init('status');
is($rc, 0, 'status: 0 (running)');
like($out, qr/supervisord is running \(pid $daemon\)/, 'names the pid');
like($out, qr/\binitworker\b/, 'and lists the worker');

($rc, $out) = init('start');
is($rc, 0, 'start again: exit 0');
like($out, qr/already running \(pid $daemon\)/, 'leaves the running daemon alone');
is(pid_in($pidfile), $daemon, 'same daemon');

my ($child) = map { $_->{process_id} } grep { $_->{state}{name} eq 'initworker' }
    status_entries(bless({ socket => "$run/supervisor.ipc" }, 'SupTest::Daemon'));
ok($child, 'the worker\'s child pid is known');

($rc, $out) = init('stop');
is($rc, 0, 'stop: exit 0') or diag $out;
ok(proc_state($daemon) =~ /^Z?$/, 'the daemon is gone');
ok(proc_state($wrapper) =~ /^Z?$/, 'the wrapper is gone');
ok(proc_state($child) =~ /^Z?$/, 'and its child');
ok(!-e $pidfile, 'pidfile removed');
ok(!-e "$run/supervisor.ipc", 'socket removed');

($rc, $out) = init('status');
is($rc, 3, 'status after stop: 3');

($rc, $out) = init('stop');
is($rc, 0, 'stop when stopped: exit 0');

($rc, $out) = init('bogus');
is($rc, 2, 'an unknown action: exit 2');

done_testing();
