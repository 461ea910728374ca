#!/usr/bin/perl
# One request line must not freeze the daemon or grow its tables without
# bound: registered states are capped, forwards are capped per caller,
# long ids are refused, and whatever is echoed stays valid JSON.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time);
use SupTest;

my $d = start_daemon(args => ['--max-message', '4M']);

# Sends a line on $busy, then times another client's status behind it.
sub status_latency_behind {
	my ($busy, $line) = @_;
	my $other = $d->client;
	$busy->send_raw($line);
	my $start = time;
	my $status = $other->call_final('status');
	my $took = time - $start;
	$other->close;
	return ($status, $took);
}

# register: a state is capped, and a refused one leaves the old one as it was.
{
	my $w = $d->client;
	my $cid = $w->call_final('register', state => { name => 'w' })->{connection_id};
	my $line = '{"id":4,"do":"register","state":{'
	    . join(',', map { sprintf('"k%06d":1', $_) } 1 .. 100_000) . "}}\n";
	my ($status, $took) = status_latency_behind($w, $line);
	ok($status && $status->{connections}, 'status answered behind a 100k-key register');
	cmp_ok($took, '<', 0.5 * SupTest::slow(), sprintf('... within 0.5 s (%.3f s)', $took));
	my ($reply) = $w->collect(4);
	ok($reply && $reply->{failed}, 'a 100k-key state is refused');
	like($reply->{error} // '', qr/^State too large: .*\(at most 1024\)$/, '... saying why');

	my @keys = map { ("a$_" => 1) } 1 .. 1000;
	ok($w->call_final('register', state => {@keys})->{connection_id}, '1000 keys are accepted');
	my @more = map { ("b$_" => 1) } 1 .. 1000;
	$reply = $w->call_final('register', state => {@more});
	like($reply->{error} // '', qr/^State too large: 20\d\d members once merged \(at most 1024\)$/,
	    'a state that would grow past 1024 members once merged is refused');
	$reply = $w->call_final('register', state => { big => 'x' x 70_000 });
	like($reply->{error} // '', qr/^State too large: \d+ bytes as JSON \(at most 65536\)$/,
	    'a state past 64 KiB as JSON is refused');
	$status = $d->client->call_final('status');
	my ($entry) = grep { $_->{state}{name} } @{ $status->{connections} };
	ok($entry && $entry->{state}{a1} && !exists $entry->{state}{b1} && !exists $entry->{state}{big},
	    'the refused states left the registered one untouched');
	$w->close;
}

# forward: an operation with many "id" members is relayed without a stall.
{
	my $worker = $d->client;
	my $wid = $worker->call_final('register')->{connection_id};
	my $c = $d->client;
	my $line = qq({"id":6,"do":"forward","connection_id":"$wid","timeout":5,"operation":{"do":"x",)
	    . join(',', map { sprintf('"m%05d":1,"id":%d', $_, $_) } 1 .. 50_000) . "}}\n";
	my ($status, $took) = status_latency_behind($c, $line);
	ok($status && $status->{connections}, 'status answered behind a forward with 50k "id" members');
	cmp_ok($took, '<', 0.5 * SupTest::slow(), sprintf('... within 0.5 s (%.3f s)', $took));
	my $line_out = $worker->recv_line(10);
	my $msg = defined $line_out ? SupTest::json()->decode($line_out) : {};
	is($msg->{id}, 3, 'the target sees our own call id');
	my $ids = () = ($line_out // '') =~ /"id":/g;
	is($ids, 1, '... and no other "id" member');
	is($msg->{m50000}, 1, '... with the other members');
	$worker->close;
	$c->close;
}

# ids: every reply echoes one, so a long one is refused once, without it.
{
	my $c = $d->client;
	$c->send({ id => 'x' x 300, do => 'status' });
	my $reply = $c->recv;
	ok($reply && $reply->{failed} && !exists $reply->{id}, 'a 300-byte id is refused, not echoed');
	is($reply->{error}, "Bad request: 'id' is too long (at most 256 bytes)", '... saying why');
	my $id = 'y' x 254;
	$c->send({ id => $id, do => 'status' });
	my ($ok) = $c->collect($id);
	ok($ok && $ok->{finished} && !$ok->{failed} && $ok->{id} eq $id, 'a 256-byte id (quotes included) is served');
	$c->send_raw('{"id":1' . ('0' x 300) . ",\"do\":\"status\"}\n");
	$reply = $c->recv;
	ok($reply && $reply->{failed} && !exists $reply->{id}, 'a number id written with 301 digits is refused');
	$c->close;
}

# ids: raw control bytes inside a string id are echoed escaped.
{
	my $c = $d->client;
	for my $case (["a\tb", 'a tab'], ["a\rb", 'a carriage return']) {
		my ($raw, $name) = @$case;
		$c->send_raw(qq({"id":"$raw","do":"nope"}\n));
		my $line = $c->recv_line;
		my $reply = eval { SupTest::json()->decode($line // '') };
		ok($reply, "the reply to an id holding $name is valid JSON") or diag($line);
		is($reply && $reply->{id}, $raw, '... and echoes the id');
	}
	$c->close;
}

# forwards: capped per caller, and timers expire in deadline order.
{
	my $worker = $d->client;
	my $wid = $worker->call_final('register')->{connection_id};
	my $c = $d->client;
	$c->send_raw(join('', map {
	    qq({"id":$_,"do":"forward","connection_id":"$wid","timeout":1,"operation":{"do":"x"}}\n) }
	    map { 2 * $_ } 1 .. 1025));
	my $reply = $c->recv;
	is($reply && $reply->{id}, 2050, 'the 1025th forward in flight from one caller fails at once');
	is($reply->{error}, 'Too many forwards in flight from this connection (at most 1024)', '... saying why');
	my $other = $d->client;
	my @r = $other->call('forward', connection_id => $wid, timeout => 0.2, operation => { do => 'x' });
	is($r[-1]{error}, 'Timed out', 'another caller may still forward to the same target');
	my %timed_out;
	while (keys %timed_out < 1024 && defined(my $msg = $c->recv(5))) {
		$timed_out{ $msg->{id} } = 1 if ($msg->{error} // '') eq 'Timed out';
	}
	is(scalar keys %timed_out, 1024, 'all 1024 forwards time out');
	@r = $c->call('forward', connection_id => $wid, timeout => 0.1, operation => { do => 'x' });
	is($r[-1]{error}, 'Timed out', 'once they are over, the caller may forward again');

	# Deadlines 100 ms apart: the daemon may read the batch over several passes
	# on a loaded machine, and its order must not depend on how fast it reads.
	my $n = 30;
	$c->send_raw(join('', map {
	    my $timeout = 0.3 + ($n - $_) * 0.1;
	    qq({"id":$_,"do":"forward","connection_id":"$wid","timeout":$timeout,"operation":{"do":"x"}}\n) }
	    1 .. $n));
	my @order;
	while (@order < $n && defined(my $msg = $c->recv(5))) {
		push @order, $msg->{id} if ($msg->{error} // '') eq 'Timed out';
	}
	is_deeply(\@order, [reverse 1 .. $n], 'forwards with decreasing timeouts time out latest-sent first');
	$worker->close;
	$c->close;
	$other->close;
}

# status: the buffer a 3 MB reply grew is not kept while the daemon idles.
# A daemon of its own: malloc's figures depend on what came before.
{
	my $d = start_daemon();
	my @workers = map { $d->client } 1 .. 50;
	$_->call_final('register', state => { big => 'x' x 60_000 }) for @workers;
	my $rss = sub { (SupTest::slurp('/proc/' . $d->pid . '/status') =~ /VmRSS:\s+(\d+)/)[0] };
	my $s = $d->client;
	my $before = $rss->();
	my $status = $s->call_final('status');
	is(scalar @{ $status->{connections} }, 50, 'a status of 50 states of 60 KB');
	$s->call_final('no-such-operation');    # a round trip: the big reply's pass has settled
	my $after = $rss->();
	SKIP: {
		skip "memory figures are not the daemon's own here", 1 unless memory_judged();
		cmp_ok($after - $before, '<', 1500, "no reply buffer kept after it ($before -> $after kB)");
	}
	$_->close for @workers, $s;
	is($d->stop, 0, '... clean exit');
}

ok($d->alive, 'daemon still running');
is($d->stop, 0, 'clean exit');
done_testing();
