#!/usr/bin/perl
# The worker wrapper's life: exit status passthrough, signals passed to the
# child's process group, reconnecting to a restarted daemon, --respawn, and
# never leaving an orphan or a zombie behind.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use SupTest;
use WorkerTest;

my $d = start_daemon();
my $sock = $d->socket;
my $dir = scratch_dir();

subtest 'exit status passthrough' => sub {
	my $w = start_worker($sock, '--', 'sh', '-c', 'exit 3');
	is(exit_code(reap_pid($w, 10)), 3, 'exit 3 -> 3');
	$w = start_worker($sock, '--', 'sh', '-c', 'kill -TERM $$');
	is(exit_code(reap_pid($w, 10)), 143, 'killed by TERM -> 143');
	$w = start_worker($sock, '--', 'true');
	is(exit_code(reap_pid($w, 10)), 0, 'exit 0 -> 0');
	my $log = "$dir/noexec.log";
	$w = start_worker($sock, '--', "$dir/no-such-command", { log => $log });
	is(exit_code(reap_pid($w, 10)), 127, 'a command that cannot run -> 127');
	like(slurp($log), qr/cannot run \Q$dir\E\/no-such-command: No such file or directory/, 'and says why');
	my ($rc, $out, $err) = run_client('/tmp/' . ('x' x 120), 'worker', '--', 'true');
	is($rc, 2, 'a socket path that can never work: 2, before running anything');
	like($err, qr/socket path .* is too long \(125 > 107 bytes\)/, 'and says why');
};

subtest 'the child runs in its own process group' => sub {
	my $w = start_worker($sock, '-n', 'group', '--', 'sleep', '300');
	my $e = wait_for_worker($d, 'group');
	my $child = $e->{process_id};
	my ($pgid) = slurp("/proc/$child/stat") =~ /\)\s+\S+\s+\d+\s+(\d+)/;
	is($pgid, $child, 'process group id is the child pid');
	kill 'TERM', $w;
	is(exit_code(reap_pid($w, 10)), 143, 'TERM reaches it');
};

subtest 'signals are passed to the child' => sub {
	my $log = "$dir/signals.log";
	my $script = "trap 'echo HUP >> $log' HUP; trap 'echo USR1 >> $log' USR1; "
	    . "trap 'echo USR2 >> $log' USR2; trap 'echo INT >> $log' INT; "
	    . "trap 'echo TERM >> $log; exit 7' TERM; "
	    . "echo ready >> $log; while :; do sleep 0.05; done";
	my $w = start_worker($sock, '-n', 'traps', '--', 'sh', '-c', $script);
	ok(wait_until(sub { slurp($log) =~ /ready/ }, 5), 'child started');
	for my $sig (qw(HUP USR1 USR2 INT)) {
		kill $sig, $w;
		ok(wait_until(sub { slurp($log) =~ /^$sig$/m }, 5), "$sig reaches the child");
	}
	ok(kill(0, $w), 'INT does not end a child that handles it, nor the wrapper');
	kill 'TERM', $w;
	is(exit_code(reap_pid($w, 10)), 7, 'TERM: the child\'s handler runs and its status comes back');
	like(slurp($log), qr/^TERM$/m, 'TERM reached the child');
};

subtest 'reconnects to a restarted daemon with the same child' => sub {
	my $w = start_worker($sock, '-n', 'survivor', '--', 'sleep', '300');
	my $before = wait_for_worker($d, 'survivor');
	ok($before, 'registered');
	is($d->stop, 0, 'daemon stopped');
	ok(kill(0, $w), 'the wrapper keeps running without a daemon');
	ok(kill(0, $before->{process_id}), 'and so does its child');
	$d = start_daemon(dir => $d->dir, socket => $sock);
	my $after = wait_for_worker($d, 'survivor', undef, 10);
	ok($after, 'registered with the new daemon');
	is($after->{process_id}, $before->{process_id}, 'same child pid');
	isnt($after->{connection_id}, $before->{connection_id}, 'new connection id');
	kill 'TERM', $w;
	is(exit_code(reap_pid($w, 10)), 143, 'stops on TERM');
};

subtest '--respawn restarts the child and registers the new pid' => sub {
	my $w = start_worker($sock, '-n', 'phoenix', '--respawn', '--', 'sleep', '300');
	my $first = wait_for_worker($d, 'phoenix');
	my $old = $first->{process_id};
	kill 'KILL', $old;
	my $second = wait_for_worker($d, 'phoenix', sub { $_[0]{process_id} != $old }, 5);
	ok($second, "a new pid appears in status within a few seconds");
	is($second->{state}{restarts}, 1, 'restart counted');
	ok(!-e "/proc/$old", 'the old child was reaped: no zombie');
	is($second->{connection_id}, $first->{connection_id}, 'under the same connection id (an update)');
	is(scalar(grep { ($_->{state}{name} // '') eq 'phoenix' } status_entries($d)), 1,
	    'and the old registration is gone');
	my $new = $second->{process_id};
	kill 'TERM', $w;
	is(exit_code(reap_pid($w, 10)), 143, 'TERM stops the child and the wrapper for good');
	ok(!-e "/proc/$new", 'no child left');
};

subtest 'killing the wrapper with SIGKILL takes the child with it' => sub {
	my $w = start_worker($sock, '-n', 'orphan', '--', 'sleep', '300');
	my $e = wait_for_worker($d, 'orphan');
	my $child = $e->{process_id};
	is(proc_state($child) ne '', 1, 'child running');
	kill 'KILL', $w;
	reap_pid($w, 5);
	# Re-parented to init, it may linger as a zombie for a moment: dead either way.
	ok(wait_until(sub { proc_state($child) =~ /^Z?$/ }, 5), 'no orphaned child (PR_SET_PDEATHSIG)');
	ok(wait_until(sub { !grep { ($_->{state}{name} // '') eq 'orphan' } status_entries($d) }, 5),
	    'and the daemon forgot it');
};

subtest 'a worker started before the daemon registers once it appears' => sub {
	my $late_sock = "$dir/late.ipc";
	my $early_log = "$dir/early.log";
	my $w = start_worker($late_sock, '-n', 'early', '--', 'sleep', '300', { log => $early_log });
	ok(wait_until(sub { slurp($early_log) =~ /cannot connect .* will keep trying/ }), 'says it will keep trying');
	ok(kill(0, $w), 'waits for the daemon');
	my $late = start_daemon(socket => $late_sock);
	ok(wait_for_worker($late, 'early', undef, 10), 'registered');
	kill 'TERM', $w;
	is(exit_code(reap_pid($w, 10)), 143, 'stops on TERM');
	is($late->stop, 0, 'daemon stops cleanly');
};

is($d->stop, 0, 'the daemon stops cleanly');
done_testing();
