#!/usr/bin/perl
# Workers by name and their life story: a crash-looping child seen as
# backoff on one connection id, stop and start by name and by id prefix,
# WORKER errors, the 80-column table, metrics, wait and events.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time);
use SupTest;
use WorkerTest;

my $d = start_daemon(args => ['--restart-target=none']);
my $sock = $d->socket;
my $dir = scratch_dir();

sub named { my ($name) = @_; grep { ($_->{state}{name} // '') eq $name } status_entries($d) }

subtest 'a crash-looping child: backoff, restarts and last_exit on one connection id' => sub {
	my $w = start_worker($sock, '-n', 'crashy', '--respawn', '--', 'sh', '-c', 'sleep 1; exit 3');
	my $first = wait_for_worker($d, 'crashy');
	ok($first, 'registered') or return;
	is($first->{state}{status}, 'running', 'running at first');
	ok($first->{state}{started_at} > 0, 'started_at published');
	my $backoff = wait_for_worker($d, 'crashy', sub { $_[0]{state}{status} eq 'backoff' }, 10);
	ok($backoff, 'seen backing off') or return;
	is_deeply([sort keys %{ $backoff->{state}{last_exit} }], ['at', 'status'], 'last_exit: status and at');
	is($backoff->{state}{last_exit}{status}, 3, 'last_exit status 3');
	ok($backoff->{state}{next_start_at} >= $backoff->{state}{last_exit}{at}, 'next_start_at while backing off');
	is($backoff->{connection_id}, $first->{connection_id}, 'the same connection id');
	my $again = wait_for_worker($d, 'crashy', sub { $_[0]{state}{restarts} >= 1 && $_[0]{state}{status} eq 'running' }, 10);
	ok($again, 'restarted') or return;
	is($again->{connection_id}, $first->{connection_id}, 'still the same connection id');
	isnt($again->{process_id}, $first->{process_id}, 'a new child pid');
	ok(!defined $again->{state}{next_start_at}, 'next_start_at cleared while running');
	is(scalar(named('crashy')), 1, 'one entry, never two');
	wait_for_worker($d, 'crashy', sub { $_[0]{state}{status} eq 'backoff' }, 10);
	my ($rc, $out) = run_client($sock, 'status', 'crashy');
	is($rc, 3, 'status NAME exits 3 while it backs off');
	like($out, qr/^\w{8}\s+crashy\s+-\s+backoff\s+-\s+[1-9]\d*\s/m, 'the row says backoff with its restarts');
	kill 'TERM', $w;
	ok(defined reap_pid($w, 10), 'the wrapper stops on TERM while backing off');
};

subtest 'stop then start, by name and by id prefix' => sub {
	my $w = start_worker($sock, '-n', 'pausable', '--', 'sleep', '300');
	my $e = wait_for_worker($d, 'pausable');
	ok($e, 'registered') or return;
	my $child = $e->{process_id};
	my ($rc, $out, $err) = run_client($sock, 'stop', 'pausable');
	is($rc, 0, 'stop by name: exit 0') or diag $err;
	like($out, qr/^pausable \(\w{8}\): stopped; pid $child was killed by TERM$/, 'says what happened');
	ok(wait_until(sub { proc_state($child) eq '' }, 5), 'the child is really gone');
	ok(kill(0, $w), 'the wrapper stays, without --respawn too');
	($rc, $out) = run_client($sock, 'status', 'pausable');
	is($rc, 3, 'status NAME exits 3 while stopped');
	like($out, qr/\spausable\s+-\s+stopped\s/, 'and shows it stopped');
	my $prefix = substr($e->{connection_id}, 0, 6);
	($rc, $out, $err) = run_client($sock, 'start', $prefix);
	is($rc, 0, 'start by id prefix: exit 0') or diag $err;
	my ($new) = $out =~ /started as pid (\d+)/;
	ok($new && $new != $child, 'a new child') or diag $out;
	my $after = wait_for_worker($d, 'pausable', sub { $_[0]{state}{status} eq 'running' });
	is($after->{process_id}, $new, 'registered with the new pid');
	is($after->{connection_id}, $e->{connection_id}, 'on the same connection id');
	($rc) = run_client($sock, 'status', 'pausable');
	is($rc, 0, 'status NAME exits 0 once it runs');
	($rc, $out) = run_client($sock, 'start', 'pausable');
	like($out, qr/already running as pid $new/, 'start on a running worker says so');
	($rc, $out, $err) = run_client($sock, 'signal', 'pausable', 'TERM');
	is($rc, 0, 'signal WORKER SIG: exit 0');
	like($out, qr/^pausable \(\w{8}\): sent TERM to pid $new$/, 'names signal and pid');
	is(exit_code(reap_pid($w, 10)), 143, 'the child died of it and the wrapper with it');
};

subtest 'stop: KILL after the timeout for a child that ignores TERM' => sub {
	my $ready = "$dir/stubborn.ready";
	my $w = start_worker($sock, '-n', 'stubborn', '--', 'sh', '-c', "trap '' TERM; touch $ready; while :; do sleep 0.05; done");
	ok(wait_for_worker($d, 'stubborn') && wait_until(sub { -e $ready }), 'running with TERM ignored');
	my $t0 = time;
	my ($rc, $out) = run_client($sock, 'stop', '--timeout', '0.5', 'stubborn');
	is($rc, 0, 'exit 0');
	like($out, qr/was killed by KILL/, 'killed');
	cmp_ok(time - $t0, '<', 5, 'soon after the timeout');
	kill 'TERM', $w;
	ok(defined reap_pid($w, 10), 'TERM ends a stopped wrapper');
};

subtest 'WORKER: unknown, ambiguous and too short' => sub {
	my @w = map { start_worker($sock, '-n', 'twin', '--', 'sleep', '300') } 1 .. 2;
	ok(wait_until(sub { named('twin') == 2 }), 'two workers named twin');
	my ($rc, $out, $err) = run_client($sock, 'stop', 'twin');
	is($rc, 1, 'ambiguous: exit 1');
	like($err, qr/twin is ambiguous: it names 2 workers: twin \(\w{8}\) [-\w]{36}, twin \(\w{8}\) [-\w]{36}; give a full connection id/,
	    'lists both with their ids');
	($rc, $out, $err) = run_client($sock, 'start', 'nosuch');
	is($rc, 1, 'unknown: exit 1');
	like($err, qr/nosuch: no worker by that name or id; registered: twin \(\w{8}\), twin \(\w{8}\)/, 'lists the candidates');
	my ($one) = named('twin');
	($rc, $out, $err) = run_client($sock, 'forward', substr($one->{connection_id}, 0, 3), 'info');
	like($err, qr/needs at least 4 characters/, 'a prefix of 3 is too short');
	($rc, $out) = run_client($sock, 'forward', $one->{connection_id}, 'info');
	is($rc, 0, 'a full id picks one');
	($rc) = run_client($sock, 'status', 'twin', 'absent');
	is($rc, 4, 'status exits 4 when a named worker is not registered');
	kill 'TERM', @w;
	reap_pid($_, 10) for @w;
};

subtest 'the default table fits 80 columns: ten workers, long names and commands' => sub {
	my @w = map {
		start_worker($sock, '-n', "worker-with-a-rather-long-descriptive-name-$_", '--', 'sh', '-c',
		    "exec sleep 300 # a long command line with 'quotes' and \"more\" that goes on $_")
	} 1 .. 10;
	ok(wait_until(sub { grep({ ($_->{state}{name} // '') =~ /^worker-with/ } status_entries($d)) == 10 }, 10),
	    'ten registered');
	my ($rc, $out) = run_client($sock, 'status');
	my @long = grep { length($_) > 80 } split /\n/, $out;
	is(scalar @long, 0, 'no line over 80 columns') or diag $out;
	is(scalar(() = $out =~ /^\w{8}\s+worker-with-a-rather\S*~\s+\d+\s+running\s/mg), 10, 'ten rows, names cut with ~');
	($rc, $out) = run_client($sock, 'status', '--wide');
	like($out, qr/worker-with-a-rather-long-descriptive-name-7\s.*sh -c 'exec sleep 300 # a long command line with '\\''quotes'\\'' and "more" that goes on 7'$/m,
	    '--wide: whole names and the command with its quoting');
	kill 'TERM', @w;
	reap_pid($_, 10) for @w;
};

subtest 'metrics: Prometheus text that parses, a sample per worker' => sub {
	my $w = start_worker($sock, '-n', 'metered "one"', '--', 'sleep', '300');
	ok(wait_for_worker($d, 'metered "one"'), 'registered');
	my ($rc, $out, $err) = run_client($sock, 'metrics');
	is($rc, 0, 'exit 0') or diag $err;
	like($out, qr/^# TYPE supervisord_worker_up gauge$/m, 'TYPE lines');
	like($out, qr/^supervisord_worker_up\{name="metered \\"one\\"",connection_id="[-\w]{36}"\} 1$/m,
	    'up, with name and connection_id labels escaped');
	like($out, qr/^supervisord_workers \d+$/m, 'workers registered');
	like($out, qr/^supervisord_uptime_seconds [\d.]+$/m, 'daemon uptime');
	my $file = "$dir/metrics.prom";
	open(my $fh, '>', $file) or die;
	print $fh $out;
	close($fh);
	SKIP: {
		skip 'promtool is not installed', 1 unless grep { -x "$_/promtool" } split /:/, $ENV{PATH};
		my $check = `promtool check metrics < $file 2>&1`;
		is($?, 0, 'promtool check metrics accepts it') or diag $check;
	}
	SKIP: {
		skip 'python3-prometheus-client is not installed', 1
		    unless system('python3 -c "import prometheus_client" 2>/dev/null') == 0;
		my $parsed = `python3 -c 'import sys
from prometheus_client.parser import text_string_to_metric_families as p
print(sum(1 for f in p(open(sys.argv[1]).read()) for s in f.samples))' $file 2>&1`;
		like($parsed, qr/^\d+$/, 'the python parser reads it') or diag $parsed;
	}
	kill 'TERM', $w;
	reap_pid($w, 10);
};

subtest 'wait: 0 as soon as the worker appears, 1 after the timeout naming the missing' => sub {
	my $waiter = spawn([SupTest::binary(), '-s', $sock, 'wait', '--timeout', '10', 'latecomer'],
	    stderr => "$dir/wait.err");
	my $w = start_worker($sock, '-n', 'latecomer', '--', 'sleep', '300');
	ok(wait_for_worker($d, 'latecomer'), 'registered');
	my $t0 = time;
	my $status = reap_pid($waiter, 5);
	is(exit_code($status), 0, 'wait exits 0');
	cmp_ok(time - $t0, '<', 1, 'within a fraction of a second of the worker appearing');
	my ($rc, $out, $err) = run_client($sock, 'wait', '--timeout', '0.5', 'latecomer', 'never-comes');
	is($rc, 1, 'exit 1 after the timeout');
	like($err, qr/timed out after 0.5 s; still missing: never-comes \(not registered\)$/, 'naming the missing');
	($rc) = run_client($sock, 'wait', '--timeout', '2', 'latecomer');
	is($rc, 0, 'an already running worker: 0 at once');
	($rc, $out, $err) = run_client($sock, 'wait', '--timeout', '0.3', '--state', 'stopped', 'latecomer');
	like($err, qr/latecomer \(running\)/, '--state: says what state it is in');
	kill 'TERM', $w;
	reap_pid($w, 10);
};

subtest 'events: registered then removed, in order, readable and raw' => sub {
	my $raw = "$dir/events.json";
	my $text = "$dir/events.txt";
	# A backlog covers a worker that comes before they have subscribed.
	my $json_pid = spawn([SupTest::binary(), '-s', $sock, 'events', '--json', '--backlog', '64'], stdout => $raw);
	my $text_pid = spawn([SupTest::binary(), '-s', $sock, 'events', '--backlog', '64'], stdout => $text);
	my $w = start_worker($sock, '-n', 'transient', '--', 'sh', '-c', 'sleep 0.5');
	my $e = wait_for_worker($d, 'transient');
	is(exit_code(reap_pid($w, 10)), 0, 'came and went');
	# The backlog replays earlier workers' removals too: wait for this one's.
	# Whole lines only: the client may be writing the next one.
	my $transient = sub { grep { ($_->{name} // '') eq 'transient' } map { json()->decode($_) } slurp($raw) =~ /^(.*)\n/mg };
	ok(wait_until(sub { (grep { $_->{event} eq 'removed' } $transient->()) && slurp($text) =~ /removed\s+transient/ }, 5),
	    'removed seen');
	my @events = $transient->();
	my @kinds = map { $_->{event} } @events;
	is($kinds[0], 'registered', 'registered first');
	is($kinds[-1], 'removed', 'removed last');
	is($events[-1]{reason}, 'closed', 'reason closed');
	is($events[0]{connection_id}, $e->{connection_id}, 'with the connection id');
	my $short = substr($e->{connection_id}, 0, 8);
	like(slurp($text), qr/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ  registered\s+transient\s+$short\s+\d+/m,
	    'readable: time in UTC, event, name, short id, pid');
	like(slurp($text), qr/^\S+ \S+  removed\s+transient\s+$short\s+\d+ reason=closed$/m, 'and what happened');
	my ($rc, $out) = run_client($sock, 'events', '--json', '--backlog', '64', { timeout => 1 });
	like($out, qr/"event":"registered".*"name":"transient"/, '--backlog replays');
	kill 'TERM', $json_pid, $text_pid;
	reap_pid($_, 5) for $json_pid, $text_pid;
};

subtest 'restart says what was signalled, or that nothing was and why' => sub {
	my ($rc, $out) = run_client($sock, 'restart', 'HUP');
	is($rc, 0, 'exit 0');
	like($out, qr/^nothing signalled: the daemon runs with --restart-target=none \(asked for HUP\)$/, 'says why not');
	my $g = start_daemon(args => ['--restart-target=parent'], socket => "$dir/parent.ipc");
	# The test is the daemon's parent: catch what it sends.
	my $got = '';
	local $SIG{USR2} = sub { $got = 'USR2' };
	($rc, $out) = run_client($g->socket, 'restart', 'USR2');
	is($rc, 0, 'exit 0');
	my $me = $$;
	like($out, qr/^sent USR2 to pid $me$/, 'names the signal and the pid');
	ok(wait_until(sub { $got eq 'USR2' }, 5), 'and the parent got it');
	$g->stop;
};

is($d->stop, 0, 'the daemon stops cleanly');
done_testing();
