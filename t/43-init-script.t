#!/usr/bin/perl
# The SysV/LSB init script in examples/ starts the daemon in the background
# with a pidfile and its workers, each command run as sh -c "exec ...";
# start fails when a worker's command cannot run; status follows LSB (0
# running, 3 not running) and names each configured worker that is missing;
# stop leaves nothing behind. Paths come from the environment, so it runs
# unprivileged in a temp dir.
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
my $socket = "$run/supervisord.ipc";
my %env = (
	DEFAULTS => '/dev/null',
	DAEMON => SupTest::binary(),
	SOCKET => $socket,
	RUNDIR => $run,
	DAEMON_OPTS => '-l debug',
	# One worker the older way, one from WORKERS with a quoted argument.
	WORKER_COMMAND => 'sleep 300',
	WORKER_NAME => 'alpha',
	WORKERS => 'beta',
	WORKER_beta => q{sh -c 'exec sleep 301'},
	WORKER_LOG => "$run/worker.log",
	WORKER_TIMEOUT => 10 * ($ENV{SUPERVISORD_WRAPPER} ? 3 : 1),
	STOP_TIMEOUT => 10,
);
my $pidfile = "$run/supervisord.pid";
my %worker_pidfile = map { $_ => "$run/worker-$_.pid" } qw(alpha beta gamma);

# Runs the script with an action; returns (exit code, output).
sub init {
	my ($action, %more) = @_;
	my %all = (%env, %more);
	local @ENV{ keys %all } = values %all;
	my $out = "$run/out.$action";
	unlink $out;
	my $pid = spawn(['sh', $script, $action], stdout => $out, stderr => $out);
	return (exit_code(reap_pid($pid, 60)), slurp($out));
}

sub pid_in { my $text = slurp($_[0]); return $text =~ /^(\d+)/ ? $1 : undef }

my $daemon_handle = bless({ socket => $socket }, 'SupTest::Daemon');

# Whatever happens, leave nothing running.
END {
	for my $file (values %worker_pidfile, $pidfile) {
		my $pid = -e $file ? pid_in($file) : undef;
		kill 'TERM', $pid if $pid && proc_state($pid) ne '';
	}
}

my ($rc, $out) = init('status');
is($rc, 3, 'status before start: 3 (not running)');
like($out, qr/supervisord is not running/, 'says so');

($rc, $out) = init('start');
is($rc, 0, 'start: exit 0') or diag $out;
my $daemon = pid_in($pidfile);
ok($daemon && kill(0, $daemon), 'the pidfile names a running daemon');
ok(-S $socket, 'the socket listens');
my %wrapper = map { $_ => pid_in($worker_pidfile{$_}) } qw(alpha beta);
ok($wrapper{$_} && kill(0, $wrapper{$_}), "the $_ wrapper runs") for qw(alpha beta);
like($out, qr/worker alpha started/, 'start waited for alpha to register');
like($out, qr/worker beta started/, 'and for beta');

my %child;
for my $name (qw(alpha beta)) {
	my $entry = wait_for_worker($daemon_handle, $name);
	ok($entry, "$name registered with the daemon");
	$child{$name} = $entry && $entry->{process_id};
}
like(slurp("/proc/$child{beta}/cmdline"), qr/^sleep\x00301\x00$/, 'the quoted command ran as the shell would run it');

($rc, $out) = init('status');
is($rc, 0, 'status: 0 (running)') or diag $out;
like($out, qr/supervisord is running \(pid $daemon\)/, 'names the pid');
like($out, qr/\balpha\b/, 'and lists the workers');

($rc, $out) = init('start');
is($rc, 0, 'start again: exit 0');
like($out, qr/already running \(pid $daemon\)/, 'leaves the running daemon alone');
is(pid_in($pidfile), $daemon, 'same daemon');

kill 'TERM', $wrapper{beta};
ok(wait_until(sub { proc_state($wrapper{beta}) =~ /^Z?$/ && proc_state($child{beta}) =~ /^Z?$/ }),
    'beta stopped behind the script\'s back');
ok(wait_until(sub { !grep { ($_->{state}{name} // '') eq 'beta' } status_entries($daemon_handle) }),
    'and is no longer registered');
($rc, $out) = init('status');
is($rc, 3, 'status with a configured worker missing: 3 (LSB: not running)') or diag $out;
like($out, qr/^worker beta is not running$/m, 'names the missing worker');
unlike($out, qr/worker alpha is not running/, 'and only that one');

($rc, $out) = init('start');
is($rc, 0, 'start brings it back: exit 0') or diag $out;
like($out, qr/worker alpha is already running/, 'alpha left alone');
$wrapper{beta} = pid_in($worker_pidfile{beta});
ok(wait_for_worker($daemon_handle, 'beta'), 'beta registered again');

open(my $fh, '>', "$run/not-executable") or die;
print $fh "#!/bin/sh\n";
close $fh;
chmod 0644, "$run/not-executable";
for my $case (['/nonexistent/command --flag', 'a command that does not exist'],
    ['no-such-command-anywhere', 'a command not in PATH'],
    ["$run/not-executable", 'a file that is not executable']) {
	my ($command, $what) = @$case;
	($rc, $out) = init('start', WORKER_COMMAND => '', WORKERS => 'gamma', WORKER_gamma => $command);
	is($rc, 1, "start with $what: exit 1") or diag $out;
	like($out, qr/^worker gamma failed to start: cannot run '\Q$command\E'$/m, 'says which and why');
	ok(!-e $worker_pidfile{gamma}, 'no wrapper left behind');
}

($rc, $out) = init('restart');
is($rc, 0, 'restart: exit 0') or diag $out;
my $new_daemon = pid_in($pidfile);
ok($new_daemon && $new_daemon != $daemon && proc_state($daemon) =~ /^Z?$/, 'a new daemon');
ok(proc_state($child{alpha}) =~ /^Z?$/, 'the old children are gone');
for my $name (qw(alpha beta)) {
	my $entry = wait_for_worker($daemon_handle, $name);
	ok($entry, "$name registered with the new daemon");
	$child{$name} = $entry && $entry->{process_id};
	$wrapper{$name} = pid_in($worker_pidfile{$name});
}

($rc, $out) = init('stop');
is($rc, 0, 'stop: exit 0') or diag $out;
ok(proc_state($new_daemon) =~ /^Z?$/, 'the daemon is gone');
for my $name (qw(alpha beta)) {
	ok(proc_state($wrapper{$name}) =~ /^Z?$/, "the $name wrapper is gone");
	ok(proc_state($child{$name}) =~ /^Z?$/, "and its child");
	ok(!-e $worker_pidfile{$name}, 'its pidfile removed');
}
ok(!-e $pidfile, 'pidfile removed');
ok(!-e $socket, 'socket removed');

($rc, $out) = init('status');
is($rc, 3, 'status after stop: 3');

($rc, $out) = init('stop');
is($rc, 0, 'stop when stopped: exit 0');

($rc, $out) = init('bogus');
is($rc, 2, 'an unknown action: exit 2');

done_testing();
