#!/usr/bin/perl
# forward (SPEC 3, 4): how a forward ends when the target goes, the timeout
# passes, or the caller goes.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Socket qw(SHUT_WR);
use Test::More;
use Time::HiRes qw(time);
use SupTest;

my $d = start_daemon();

sub worker { register_worker($d) }

subtest 'the target disconnects: "Connection closed"' => sub {
	my ($w, $wid) = worker();
	my @callers = map { $d->client } 1 .. 3;
	my $n = 0;
	for my $c (@callers) {
		$c->send({ id => 10 + $n, do => 'forward', connection_id => $wid, operation => { do => 'slow' } });
		$c->send({ id => 20 + $n, do => 'forward', connection_id => $wid, operation => { do => 'slow' } });
		$n++;
	}
	$w->recv for 1 .. 6;
	$w->send({ id => 3, progress => 'half' });
	is_deeply($callers[0]->recv, { id => 10, progress => 'half' }, 'an intermediate reply first');
	$w->close;
	$n = 0;
	for my $c (@callers) {
		my %got = map { my $r = $c->recv; ($r->{id} => $r) } 1 .. 2;
		for my $id (10 + $n, 20 + $n) {
			my $r = $got{$id};
			ok($r && $r->{finished} && $r->{failed}, "call $id: a failure");
			is($r->{error}, 'Connection closed', "call $id: \"Connection closed\"");
			is($r->{connection_id}, $wid, "call $id: names the target");
		}
		ok($c->quiet(0.05), 'nothing more');
		$n++;
	}
	is($callers[0]->call_final('forward', connection_id => $wid, operation => { do => 'x' })->{error},
	    'Connection not found', 'the target is gone from the registry');
};

subtest 'the timeout passes: "Timed out", later replies dropped' => sub {
	my ($w, $wid) = worker();
	my $c = $d->client;
	my $t0 = time;
	$c->send({ id => 2, do => 'forward', connection_id => $wid, operation => { do => 'slow' }, timeout => 0.2 });
	my $req = $w->recv;
	$w->send({ id => $req->{id}, progress => 1 });
	is_deeply($c->recv, { id => 2, progress => 1 }, 'replies before the timeout are relayed');
	my $r = $c->recv(3);
	my $took = time - $t0;
	ok($r->{failed} && $r->{finished}, 'a failure');
	is($r->{error}, 'Timed out', '"Timed out"');
	is($r->{connection_id}, $wid, 'names the target');
	is($r->{timeout}, 0.2, 'and the timeout');
	cmp_ok($took, '>=', 0.19, sprintf('not before the timeout (%.3f s)', $took));
	cmp_ok($took, '<', 1.0, 'nor long after');
	$w->send({ id => $req->{id}, progress => 2 });
	$w->send({ id => $req->{id}, finished => JSON::PP::true });
	ok($c->quiet(0.2), 'later replies from the target are dropped');
	ok(wait_until(sub { $d->log =~ /ignoring a reply to no open call/ }, 1), 'and logged at debug');
	# The target is still fine and gets the next call under a new id.
	$c->send({ id => 4, do => 'forward', connection_id => $wid, operation => { do => 'x' } });
	is($w->recv->{id}, $req->{id} + 2, 'next forward gets the next id');
};

subtest 'timeouts fire in deadline order, each once' => sub {
	my ($w, $wid) = worker();
	my $c = $d->client;
	for my $t ([6, 0.3], [2, 0.1], [4, 0.2], [8, 30]) {
		$c->send({ id => $t->[0], do => 'forward', connection_id => $wid, operation => { do => 'x' }, timeout => $t->[1] });
	}
	my @order = map { ($c->recv(2) // {})->{id} // 'none' } 1 .. 3;
	is_deeply(\@order, [2, 4, 6], 'shortest first');
	ok($c->quiet(0.2), 'the 30 s forward is still open');
	$w->send({ id => 9, finished => JSON::PP::true, late => 0 });
	is_deeply($c->recv, { id => 8, finished => JSON::PP::true, late => 0 }, 'and is answered normally');
};

subtest 'the caller disconnects: the target replies into the void' => sub {
	my ($w, $wid) = worker();
	my $c = $d->client;
	$c->send({ id => 2, do => 'forward', connection_id => $wid, operation => { do => 'slow' } });
	$c->send({ id => 4, do => 'forward', connection_id => $wid, operation => { do => 'slow' }, timeout => 0.1 });
	my @reqs = map { $w->recv } 1 .. 2;
	my $closes = () = $d->log =~ /reason=peer (?:closed|gone)/g;
	$c->close;
	ok(wait_until(sub { (() = $d->log =~ /reason=peer (?:closed|gone)/g) > $closes }, 2), 'caller gone');
	my $t0 = time;
	wait_until(sub { time > $t0 + 0.2 }, 1);    # the clock itself: past the second forward's timeout
	$w->send({ id => $_->{id}, progress => 1 }) for @reqs;
	$w->send({ id => $_->{id}, finished => JSON::PP::true }) for @reqs;
	my $other = $d->client;
	ok($other->call_final('status')->{finished}, 'daemon fine');
	ok($w->quiet(0.1), 'the target is sent nothing back');
	is($w->call_final('status')->{connections}[0]{connection_id}, $wid, 'the target stays registered');
};

subtest 'a caller that shut down its writing side still gets the reply' => sub {
	my ($w, $wid) = worker();
	my $c = $d->client;
	# As "echo '{...}' | socat - UNIX-CONNECT:..." does.
	$c->send({ id => 2, do => 'forward', connection_id => $wid, operation => { do => 'info' } });
	shutdown($c->sock, SHUT_WR);
	my $req = $w->recv;
	ok(wait_until(sub { $d->log =~ /peer shut down its writing side/ }), 'the daemon saw the caller\'s end of file first');
	$w->send({ id => $req->{id}, progress => 1 });
	$w->send({ id => $req->{id}, finished => JSON::PP::true, pid => 1234 });
	is_deeply($c->recv, { id => 2, progress => 1 }, 'intermediate reply');
	is_deeply($c->recv, { id => 2, finished => JSON::PP::true, pid => 1234 }, 'final reply');
	ok($c->eof(2), 'then the daemon closes the connection');
};

subtest 'a half-closed caller whose target goes gets "Connection closed"' => sub {
	my ($w, $wid) = worker();
	my $c = $d->client;
	$c->send({ id => 2, do => 'forward', connection_id => $wid, operation => { do => 'info' } });
	shutdown($c->sock, SHUT_WR);
	$w->recv;
	$w->close;
	is($c->recv->{error}, 'Connection closed', 'failure delivered');
	ok($c->eof(2), 'then closed');
};

subtest 'the caller closes completely while waiting' => sub {
	my ($w, $wid) = worker();
	my $c = $d->client;
	$c->send({ id => 2, do => 'forward', connection_id => $wid, operation => { do => 'info' } });
	shutdown($c->sock, SHUT_WR);
	$w->recv;
	$c->close;
	ok(wait_until(sub { $d->log =~ /reason=peer gone/ }, 2), 'noticed without waiting for the target');
	$w->send({ id => 3, finished => JSON::PP::true });
	ok($d->client->call_final('status')->{finished}, 'daemon fine');
};

subtest 'caller and target close in the same instant' => sub {
	my $s = $d->client;
	my $before = @{ $s->call_final('status')->{connections} };
	for my $round (1 .. 20) {
		my ($w, $wid) = worker();
		my $c = $d->client;
		$c->send({ id => 2, do => 'forward', connection_id => $wid, operation => { do => 'x' }, timeout => 5 });
		$w->recv;
		if ($round % 2) { $w->close; $c->close; } else { $c->close; $w->close; }
	}
	ok(wait_until(sub { @{ $s->call_final('status')->{connections} } == $before }, 2),
	    'all those workers gone from status');
};

subtest 'at most 4096 forwards wait on one target' => sub {
	my ($w, $wid) = worker();
	# One caller may have at most 1024 in flight, so four fill the target.
	my @callers = map { $d->client } 1 .. 4;
	for my $c (@callers) {
		$c->send_raw(join('', map { qq({"id":$_,"do":"forward","connection_id":"$wid","operation":{"do":"x"}}\n) } 1 .. 1024));
	}
	my $n = 0;
	while (my $req = $w->recv(1)) { last if ++$n == 4096; }
	is($n, 4096, 'the worker got 4096');
	my $c = $d->client;
	my @r = $c->call('forward', connection_id => $wid, operation => { do => 'x' });
	is($r[0]{error}, "Too many forwards waiting on connection $wid (at most 4096)", 'the 4097th is refused at once');
	$w->close;
	my $closed = 0;
	for my $caller (@callers) {
		while (my $r = $caller->recv(2)) { last if ($closed += ($r->{error} // '') eq 'Connection closed') % 1024 == 0; }
	}
	is($closed, 4096, 'and when it goes, each fails with "Connection closed"');
};

is($d->stop, 0, 'SIGTERM: exit status 0');
done_testing();
