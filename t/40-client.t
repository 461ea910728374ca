#!/usr/bin/perl
# The client commands: status (table and --json), call, forward and restart,
# with their exit codes: 0 finished, 1 failed or no daemon, 2 usage error.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use SupTest;
use WorkerTest;

my $d = start_daemon(args => ['--restart-target=none']);
my $sock = $d->socket;

subtest 'status with no workers' => sub {
	my ($rc, $out, $err) = run_client($sock, 'status');
	is($rc, 0, 'exit 0');
	like($out, qr/^ID\s+NAME\s+PID\s+STATE\s+UPTIME\s+RESTARTS\s+MEMORY\s+CPU%$/m, 'table header');
	like($out, qr/^0 workers registered$/m, 'says none are registered');
	is($err, '', 'nothing on stderr');
};

my $worker = start_worker($sock, '-n', 'table-test', '--', 'sleep', '300');
my $entry = wait_for_worker($d, 'table-test');
ok($entry, 'the worker registered') or BAIL_OUT('no worker');
my $child = $entry->{process_id};

subtest 'status table shows the child pid and name' => sub {
	isnt($child, $worker, 'the registered pid is not the wrapper');
	like(slurp("/proc/$child/cmdline"), qr/^sleep\x{0}300/, 'the registered pid runs the command');
	my ($rc, $out) = run_client($sock, 'status');
	is($rc, 0, 'exit 0');
	my $short = substr($entry->{connection_id}, 0, 8);
	like($out, qr/^\Q$short\E\s+table-test\s+$child\s+running\s+\d+s\s+0\s+-\s+-$/m,
	    'row: short id, name, child pid, state, uptime, restarts, memory, CPU');
	($rc, $out) = run_client($sock, 'status', '--wide');
	like($out, qr/^\Q$entry->{connection_id}\E\s+table-test\s+$child\s+running\s.*\ssleep 300$/m,
	    '--wide: the full id and the command');
	like($out, qr/^1 worker registered$/m, 'count');
};

subtest 'status --json prints the raw reply lines' => sub {
	my ($rc, $out) = run_client($sock, 'status', '--json');
	is($rc, 0, 'exit 0');
	my @lines = split /\n/, $out;
	is(scalar @lines, 1, 'one line: the final reply (no monitors)');
	my $final = json()->decode($lines[-1]);
	is($final->{id}, 2, 'even client id');
	ok($final->{finished}, 'finished');
	is($final->{connections}[0]{process_id}, $child, 'child pid');
	is($final->{connections}[0]{state}{name}, 'table-test', 'name in state');
	is($final->{connections}[0]{state}{command}, 'sleep 300', 'command in state');
};

subtest 'call adds an id when missing' => sub {
	my ($rc, $out) = run_client($sock, 'call', '{"do":"status"}');
	is($rc, 0, 'exit 0');
	my $reply = json()->decode((split /\n/, $out)[-1]);
	is($reply->{id}, 2, 'id 2 added');
	ok($reply->{finished}, 'finished');
};

subtest 'call keeps a given id' => sub {
	my ($rc, $out) = run_client($sock, 'call', '{"id":"mine","do":"status"}');
	is($rc, 0, 'exit 0');
	is(json()->decode((split /\n/, $out)[-1])->{id}, 'mine', 'string id echoed');
	($rc, $out) = run_client($sock, 'call', '{"id":40,"do":"status"}');
	is(json()->decode((split /\n/, $out)[-1])->{id}, 40, 'number id echoed');
};

subtest 'a failed call exits 1 and says why' => sub {
	my ($rc, $out, $err) = run_client($sock, 'call', '{"do":"frobnicate"}');
	is($rc, 1, 'exit 1');
	like($out, qr/"failed":true/, 'the reply line is printed');
	like($err, qr/^supervisord: call: Unknown operation 'frobnicate'$/m, 'error in plain words');
};

subtest 'forward to a worker' => sub {
	my ($rc, $out) = run_client($sock, 'forward', $entry->{connection_id}, '{"do":"info"}');
	is($rc, 0, 'exit 0');
	my $reply = json()->decode((split /\n/, $out)[-1]);
	is($reply->{process_id}, $child, 'the child answers through its wrapper');
	($rc, $out) = run_client($sock, 'forward', '--timeout', '5', $entry->{connection_id}, 'info');
	is($rc, 0, 'a bare operation name and --timeout work');
	($rc, $out) = run_client($sock, 'forward', $entry->{connection_id},
	    '{"do":"memory_sample","duration":0.2,"interval":0.1}');
	is($rc, 0, 'memory_sample: exit 0');
	my @lines = map { json()->decode($_) } split /\n/, $out;
	is(scalar @lines, 4, 'every reply line printed: three samples and the summary');
	ok(!$lines[0]{finished} && $lines[-1]{finished}, 'intermediates first, then the final reply');
};

subtest 'forward to an unknown connection' => sub {
	my ($rc, $out, $err) = run_client($sock, 'forward', 'no-such-id', 'info');
	is($rc, 1, 'exit 1');
	like($err, qr/^supervisord: forward: no-such-id: no worker by that name or id; registered: table-test \(\w{8}\)$/,
	    'error names the worker and lists the candidates');
};

subtest 'restart' => sub {
	my ($rc, $out, $err) = run_client($sock, 'restart', 'HUP');
	is($rc, 0, 'exit 0 (restart target none)');
	like($d->log, qr/restart requested.*signal=(?:1|HUP)\b/, 'the daemon got signal HUP');
	($rc) = run_client($sock, 'restart');
	is($rc, 0, 'default signal');
};

subtest '--help says how long a client waits' => sub {
	my ($rc, $out) = run_client($sock, 'status', '--help');
	is($rc, 0, 'exit 0');
	like($out, qr/^usage: supervisord \[-s PATH\] status \[--json\|--wide\] \[--timeout S\] \[NAME\.\.\.\]\n/, 'usage');
	like($out, qr/Waits at most 30 s/, 'and timeout');
	($rc, $out) = run_client($sock, 'worker', '--help');
	is($rc, 0, 'worker --help: exit 0');
	like($out, qr/^usage: supervisord \[-s PATH\] worker /, 'worker usage');
};

subtest 'usage errors exit 2 with one line' => sub {
	for my $args (['status', '--json', '--wide'], ['status', '--bogus'], ['status', '--timeout'],
	    ['worker', '-n'], ['worker', '--name'], ['forward', '--timeout'], ['stop'], ['signal', 'x'],
	    ['signal', 'x', 'NOSUCHSIG'], ['events', 'x'], ['wait'], ['wait', '--timeout', 'never', 'x'],
	    ['metrics', 'x'], ['restart', 'NOSUCHSIG'],
	    ['call'], ['call', 'not json'], ['call', '[1,2]'], ['call', '{"id":[1],"do":"status"}'],
	    ['forward', 'only-id'], ['forward', 'id', '{"no":"do"}'],
	    ['forward', '--timeout', 'soon', 'id', 'info'], ['worker'], ['worker', '--state', '[]', 'true']) {
		my ($rc, $out, $err) = run_client($sock, @$args);
		is($rc, 2, "exit 2: @$args");
		is(scalar(() = $err =~ /\n/g), 1, "one line: @$args");
		unlike($err, qr/\(null\)/, "no (null): @$args");
	}
};

kill 'TERM', $worker;
is(exit_code(reap_pid($worker, 10)), 143, 'the worker passes TERM on and exits as its child did');
$d->stop;

subtest 'no daemon: exit 1 naming the socket' => sub {
	my ($rc, $out, $err) = run_client($sock, 'status');
	is($rc, 1, 'exit 1');
	like($err, qr/^supervisord: cannot connect to \Q$sock\E: No such file or directory \(is the daemon running\?\)$/,
	    'says where and why');
	my $stale = scratch_dir() . '/stale.ipc';
	use IO::Socket::UNIX;
	my $listener = IO::Socket::UNIX->new(Type => Socket::SOCK_STREAM(), Local => $stale, Listen => 1);
	close($listener);
	($rc, $out, $err) = run_client($stale, 'call', '{"do":"status"}');
	is($rc, 1, 'exit 1 on a stale socket');
	like($err, qr/cannot connect to \Q$stale\E: Connection refused \(is the daemon running\?\)/,
	    'connection refused');
};

subtest 'a daemon that never answers: the client gives up' => sub {
	my $silent = scratch_dir() . '/silent.ipc';
	my $listener = IO::Socket::UNIX->new(Type => Socket::SOCK_STREAM(), Local => $silent, Listen => 1);
	# A forward with --timeout waits that long plus a 5 s grace.
	my $t0 = Time::HiRes::time();
	my ($rc, $out, $err) = run_client($silent, 'status', '--timeout', '0.5');
	my $took = Time::HiRes::time() - $t0;
	is($rc, 1, 'exit 1');
	like($err, qr/no reply from \Q$silent\E in time \(is the daemon stuck\?\)/, 'says it timed out');
	cmp_ok($took, '<', 5, 'status --timeout bounds the wait');
	close($listener);
};

done_testing();
