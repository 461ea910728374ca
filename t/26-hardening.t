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

ok($d->alive, 'daemon still running');
is($d->stop, 0, 'clean exit');
done_testing();
