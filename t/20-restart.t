#!/usr/bin/perl
# restart (SPEC 3): the final reply is written first, then the signal goes
# to the restart target; PID 1 is never signalled.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use IO::Select;
use Test::More;
use Time::HiRes qw(time sleep);
use SupTest;

my $tmp = tempdir('supervisord-restart-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my @groups;    # process groups to kill however the test ends
END { kill 'KILL', -$_ for @groups; }

# This test process is the daemon's parent, so by default it is what restart signals.
my %got;
sub catch { my ($name) = @_; $SIG{$name} = sub { $got{$name}++ }; }
catch($_) for qw(HUP TERM USR1 USR2 INT);

subtest 'the final reply is written before the parent is signalled' => sub {
	my $d = start_daemon();
	my $c = $d->client;
	my $reply_was_there;
	local $SIG{USR1} = sub {
		$got{USR1}++;
		$reply_was_there = IO::Select->new($c->sock)->can_read(0) ? 1 : 0;
	};
	%got = ();
	# Nothing reads the socket until the signal has been handled.
	$c->send({ id => 2, do => 'restart', signal => 'USR1' });
	ok(wait_until(sub { $got{USR1} }, 2), 'the parent got USR1');
	is($reply_was_there, 1, 'the reply was already readable when the signal arrived');
	my @r = $c->collect(2);
	is_deeply(\@r, [{ id => 2, finished => JSON::PP::true, signal => 'USR1', target => 'parent',
	    target_process_id => $$ }], 'one final reply, saying what was signalled');
	like($d->log, qr/restart: signalling parent $$ signal=USR1/, 'logged');
	is($d->stop, 0, 'exit status 0');
};

subtest 'signals by name and number' => sub {
	my $d = start_daemon();
	my $c = $d->client;
	for my $case (['HUP', 'HUP'], ['SIGTERM', 'TERM'], ['usr2', 'USR2'], ['SigUsr1', 'USR1'],
	    [12, 'USR2'], ['10', 'USR1'], [1, 'HUP']) {
		%got = ();
		my $r = $c->call_final('restart', signal => $case->[0]);
		ok($r->{finished} && !$r->{failed}, "signal $case->[0]: finished");
		ok(wait_until(sub { $got{ $case->[1] } }, 2), "signal $case->[0]: the parent got $case->[1]");
		is_deeply([keys %got], [$case->[1]], "signal $case->[0]: and nothing else");
	}
	is($d->stop, 0, 'exit status 0');
};

subtest 'unknown signals are refused, and nothing is sent' => sub {
	my $d = start_daemon();
	my $c = $d->client;
	%got = ();
	for my $bad ('FOO', 'SIGFOO', '', 'SIG', 0, -1, 99999, 2.5, '9x', 'INT ') {
		my $r = $c->call_final('restart', signal => $bad);
		ok($r->{failed} && $r->{finished}, "signal '$bad': a failure");
		is($r->{error}, "Unknown signal '$bad'", "signal '$bad': error says so, quoting it");
	}
	$c->call_final('status');    # a signal would be pending by now: it is sent before any later reply
	is_deeply(\%got, {}, 'no signal reached the parent');
	is($d->stop, 0, 'exit status 0');
};

subtest 'the default signal is INT, sent to the parent shell' => sub {
	my $file = "$tmp/order";
	my $socket = "$tmp/sh.ipc";
	my $script = <<'SH';
trap 'echo "got INT" >> "$F"' INT
"$BIN" -s "$S" -l debug 2>>"$F.log" &
pid=$!
wait $pid
echo "wait interrupted" >> "$F"
kill -TERM $pid
wait $pid
echo "daemon exit $?" >> "$F"
SH
	local $ENV{F} = $file;
	local $ENV{BIN} = binary();
	local $ENV{S} = $socket;
	my $sh = spawn(['sh', '-c', $script], new_group => 1);
	push @groups, $sh;
	ok(wait_until(sub { -S $socket }, 5), 'daemon listening under sh');
	my $c = SupTest::Client->new($socket);
	my $r = $c->call_final('restart');
	is($r->{finished}, JSON::PP::true, 'final reply');
	is($r->{signal}, 'INT', 'it says INT was sent');
	is($r->{target}, 'parent', 'to the parent');
	ok($r->{target_process_id} > 1, 'and names its pid');
	is(reap_pid($sh, 10), 0, 'the shell finished');
	is(slurp($file), "got INT\nwait interrupted\ndaemon exit 0\n", 'the shell got INT; the daemon did not, and exited 0 at TERM');
	like(slurp("$file.log"), qr/restart: signalling parent \d+ signal=INT/, 'logged');
};

subtest '--restart-target=none signals nothing' => sub {
	my $d = start_daemon(args => ['--restart-target=none']);
	my $c = $d->client;
	%got = ();
	my $r = $c->call_final('restart', signal => 'USR1');
	ok($r->{finished} && !$r->{failed}, 'finished');
	$c->call_final('status');
	is_deeply(\%got, {}, 'nothing signalled');
	like($d->log, qr/restart requested; --restart-target=none/, 'logged');
	ok($d->alive, 'daemon still running');
	is($d->stop, 0, 'exit status 0');
};

subtest '--restart-target=group signals the process group' => sub {
	my $d = start_daemon(args => ['--restart-target', 'group'], new_group => 1);
	push @groups, $d->pid;
	my $mark = "$tmp/group-member";
	# A process that joins the daemon's group and reports USR1.
	my $member = spawn([$^X, '-MPOSIX', '-e',
	    'POSIX::setpgid(0, $ARGV[0]) or die "setpgid: $!"; $SIG{USR1} = sub { open(my $f, ">", $ARGV[1]); print $f "got USR1\n"; close $f; exit 0 }; open(my $f, ">", "$ARGV[1].ready"); close $f; sleep 10; exit 1',
	    $d->pid, $mark]);
	ok(wait_until(sub { -e "$mark.ready" }, 5), 'a process joined the group');
	my $c = $d->client;
	%got = ();
	my $r = $c->call_final('restart', signal => 'USR1');
	ok($r->{finished} && !$r->{failed}, 'finished');
	is(reap_pid($member, 5), 0, 'the group member got the signal and exited');
	is(slurp($mark), "got USR1\n", 'it was USR1');
	$d->client->call_final('status');    # any signal to the parent would be pending by now
	is_deeply(\%got, {}, 'the parent, outside the group, got nothing');
	like($d->log, qr/restart: signalling process group ${\ $d->pid} signal=USR1/, 'logged');
	# INT to the group reaches the daemon too: it answers, then stops cleanly.
	my @r = $c->call('restart');
	is_deeply(\@r, [{ id => 4, finished => JSON::PP::true, signal => 'INT', target => 'group',
	    target_process_id => $d->pid }], 'INT to the group: the reply arrives first');
	is(reap_pid($d->pid, 10), 0, 'then the daemon stops with status 0');
	$d->{status} = 0;
};

subtest 'a daemon whose parent is gone refuses rather than signal init' => sub {
	my $socket = "$tmp/daemonized.ipc";
	my $pidfile = "$tmp/daemonized.pid";
	my $starter = spawn([binary(), '-d', '-s', $socket, '-p', $pidfile, '-l', 'debug'],
	    stderr => "$tmp/daemonized.log");
	is(reap_pid($starter, 10), 0, '-d returned 0');
	my $pid = slurp($pidfile) + 0;
	ok($pid > 1, 'pidfile names the daemon');
	push @groups, $pid;    # setsid made it a group leader
	my $c = SupTest::Client->new($socket);
	%got = ();
	my $r = $c->call_final('restart', signal => 'USR1');
	ok($r->{failed} && $r->{finished}, 'a failure');
	like($r->{error}, qr/^Not restarting: supervisord is no longer a child of the process that started it \(pid \d+; .*--restart-target=group/,
	    'the error says why and what to do');
	ok(kill(0, $pid), 'the daemon is still running');
	is_deeply(\%got, {}, 'nothing signalled here');
	kill 'TERM', $pid;
	ok(wait_until(sub { !kill(0, $pid) }, 5), 'stops at SIGTERM');
	ok(!-e $socket && !-e $pidfile, 'socket and pidfile removed');
};

done_testing();
