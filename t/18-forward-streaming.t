#!/usr/bin/perl
# forward (SPEC 3): the supervisor's calls on the target, and the target's
# replies streamed back to the caller under the caller's id.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use SupTest;

my $d = start_daemon();

sub worker { register_worker($d, @_) }

subtest 'the target gets the operation under ids 3, 5, 7, ...' => sub {
	my ($w, $wid) = worker();
	my $c = $d->client;
	my @seen;
	for my $n (1 .. 4) {
		$c->send({ id => 100 + $n, do => 'forward', connection_id => $wid,
		    operation => { do => 'info', id => 'caller-chosen', n => $n, deep => { a => [1, 2] } } });
		my $req = $w->recv;
		push @seen, $req->{id};
		is_deeply($req, { id => $req->{id}, do => 'info', n => $n, deep => { a => [1, 2] } },
		    "request $n: the operation's fields, its own id replaced");
		$w->send({ id => $req->{id}, finished => JSON::PP::true, n => $n });
		my $r = $c->recv;
		is($r->{id}, 100 + $n, "reply $n under the caller's id");
	}
	is_deeply(\@seen, [3, 5, 7, 9], 'ids 3, 5, 7, 9');
	# The target's own calls (even ids) do not disturb the counter.
	my $other = $d->client;
	$other->send({ id => 2, do => 'forward', connection_id => $wid, operation => { do => 'x' } });
	is($w->recv->{id}, 11, 'ids continue per target connection, across callers');
};

subtest 'intermediate and final replies are streamed back' => sub {
	my ($w, $wid) = worker();
	my $c = $d->client;
	$c->send({ id => 'call-1', do => 'forward', connection_id => $wid, operation => { do => 'memory_sample' } });
	my $req = $w->recv;
	is($req->{id}, 3, 'first call on this target: id 3');
	for my $i (1 .. 5) {
		$w->send({ id => $req->{id}, sample => $i });
		my $r = $c->recv;
		is_deeply($r, { id => 'call-1', sample => $i }, "intermediate reply $i relayed as is");
	}
	$w->send({ id => $req->{id}, finished => JSON::PP::true, growth => 42 });
	is_deeply($c->recv, { id => 'call-1', finished => JSON::PP::true, growth => 42 }, 'final reply relayed');
	$w->send({ id => $req->{id}, sample => 6 });
	ok($c->quiet(0.2), 'after the final reply, nothing more is relayed');
	# A failure from the target is relayed as it is.
	$c->send({ id => 'call-2', do => 'forward', connection_id => $wid, operation => { do => 'nope' } });
	$req = $w->recv;
	$w->send({ id => $req->{id}, finished => JSON::PP::true, failed => JSON::PP::true, error => "Unknown operation 'nope'" });
	is_deeply($c->recv, { id => 'call-2', finished => JSON::PP::true, failed => JSON::PP::true,
	    error => "Unknown operation 'nope'" }, 'failure relayed');
};

subtest 'a forward without an id is answered without one' => sub {
	my ($w, $wid) = worker();
	my $c = $d->client;
	$c->send({ do => 'forward', connection_id => $wid, operation => { do => 'info' } });
	my $req = $w->recv;
	$w->send({ id => $req->{id}, finished => JSON::PP::true, ok => 1 });
	is_deeply($c->recv, { finished => JSON::PP::true, ok => 1 }, 'no id in the relayed reply');
};

subtest 'the caller id is echoed as written' => sub {
	my ($w, $wid) = worker();
	my $c = $d->client;
	$c->send_raw(qq({"id":1.50,"do":"forward","connection_id":"$wid","operation":{"do":"x"}}\n));
	my $req = $w->recv;
	$w->send_raw(qq({"id":$req->{id},"x":1}\n{"id":$req->{id},"finished":true}\n));
	is($c->recv_line, '{"id":1.50,"x":1}', 'intermediate');
	is($c->recv_line, '{"id":1.50,"finished":true}', 'final');
};

subtest 'a reply with its id repeated fails the forward its first id names' => sub {
	my ($w, $wid) = worker();
	my $c = $d->client;
	$c->send({ id => 8, do => 'forward', connection_id => $wid, operation => { do => 'x' } });
	my $req = $w->recv;
	$w->send_raw(qq({"id":$req->{id},"a":1,"id":77,"finished":true}\n));
	my $r = $c->recv;
	is($r->{id}, 8, 'the caller hears under its id');
	is($r->{error}, "Bad reply: 'id' is given more than once", 'that the reply was bad');
	is($w->recv->{error}, "Bad request: 'id' is given more than once", 'and so does the target');
	$c->send_raw(qq({"id":10,"do":"forward","connection_id":"$wid","operation":{"do":"x","id":1,"id":2}}\n));
	like($w->recv_line, qr/^\{"id":\d+,"do":"x"\}$/, 'operation ids all replaced');
};

subtest 'many forwards in flight, from several callers to several targets' => sub {
	my @targets = map { [worker(t => $_)] } 1 .. 4;
	my @callers = map { $d->client } 1 .. 5;
	my %expect;    # "caller/id" => target index
	for my $ci (0 .. $#callers) {
		for my $k (1 .. 20) {
			my $ti = ($ci + $k) % @targets;
			my $id = $ci * 1000 + $k * 2;
			$callers[$ci]->send({ id => $id, do => 'forward', connection_id => $targets[$ti][1],
			    operation => { do => 'echo', caller => $ci, k => $k } });
			$expect{"$ci/$id"} = $ti;
		}
	}
	# Each target answers in reverse order of arrival: one intermediate, then final.
	my @pending;
	for my $ti (0 .. $#targets) {
		my $w = $targets[$ti][0];
		my @reqs;
		while (my $req = $w->recv(0.5)) {
			push @reqs, $req;
			last if @reqs == 25;
		}
		for my $req (reverse @reqs) {
			$w->send({ id => $req->{id}, from => $ti, caller => $req->{caller}, k => $req->{k} });
			$w->send({ id => $req->{id}, finished => JSON::PP::true, from => $ti, caller => $req->{caller}, k => $req->{k} });
		}
	}
	my ($good, $bad) = (0, 0);
	for my $ci (0 .. $#callers) {
		my %seen;
		while (keys %seen < 20) {
			my $r = $callers[$ci]->recv(2) or last;
			my $key = "$ci/$r->{id}";
			my $ok = exists $expect{$key} && $r->{from} == $expect{$key} && $r->{caller} == $ci &&
			    $r->{id} == $ci * 1000 + $r->{k} * 2;
			$ok ? $good++ : $bad++;
			$seen{$r->{id}}++ if $r->{finished};
		}
		is(scalar keys %seen, 20, "caller $ci: all 20 finished");
	}
	is($bad, 0, 'no reply reached the wrong caller or under the wrong id');
	is($good, 200, 'all 200 replies matched');
};

subtest 'forward to oneself' => sub {
	my ($w, $wid) = worker();
	$w->send({ id => 2, do => 'forward', connection_id => $wid, operation => { do => 'info' } });
	my $req = $w->recv;
	is_deeply($req, { id => 3, do => 'info' }, 'the request arrives on the same connection');
	$w->send({ id => 3, progress => 1 });
	$w->send({ id => 3, finished => JSON::PP::true, answer => 42 });
	is_deeply($w->recv, { id => 2, progress => 1 }, 'intermediate reply relayed to itself');
	is_deeply($w->recv, { id => 2, finished => JSON::PP::true, answer => 42 }, 'final reply relayed to itself');
	# While a forward to itself is open, its own request with the same id is a reply.
	$w->send({ id => 4, do => 'forward', connection_id => $wid, operation => { do => 'x' } });
	is($w->recv->{id}, 5, 'next call id 5');
	$w->send({ id => 5, do => 'status' });
	my $r = $w->recv;
	is($r->{id}, 4, 'a message naming an open call is a reply, even with do');
	ok(!$r->{finished}, 'relayed as an intermediate reply');
	$w->close;
	my $c = $d->client;
	ok($c->call_final('status')->{finished}, 'daemon fine after the self-forwarding connection closed');
};

is($d->stop, 0, 'SIGTERM: exit status 0');
done_testing();
