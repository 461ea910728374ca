#!/usr/bin/perl
# Fidelity (SPEC 2): a relayed reply is the target's line byte for byte but
# for its id, and status lists registered state exactly as it was sent:
# numbers keep their spelling, strings every character.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use SupTest;

my $d = start_daemon();

my $w = $d->client;
$w->send_raw(qq({"id":2,"do":"register","state":{"name":"exact","one":1.0,"big":12345678901234567890,"neg0":-0.0,"nul":"a\\u0000b","exp":1E+2,"u":"\\u00e9\\ud83d\\ude00","nested":{"x":[1.50,-0.0]}}}\n));
my $reg = json()->decode($w->recv_line);
ok($reg->{connection_id}, 'registered') or BAIL_OUT('cannot register');
my $wid = $reg->{connection_id};
my $c = $d->client;

# Forwards one operation; the worker answers with $reply (its id put in); returns the caller's line.
sub relayed {
	my ($caller_id, $reply) = @_;
	$c->send_raw(qq({"id":$caller_id,"do":"forward","connection_id":"$wid","operation":{"do":"x"}}\n));
	my $req = json()->decode($w->recv_line);
	my $line = $reply =~ s/ID/$req->{id}/r;
	$w->send_raw("$line\n");
	return $c->recv_line;
}

my $line = relayed(4, '{"id":ID,"finished":true,"one":1.0,"big":12345678901234567890,"nul":"a\u0000b","neg0":-0.0}');
is($line, '{"id":4,"finished":true,"one":1.0,"big":12345678901234567890,"nul":"a\u0000b","neg0":-0.0}',
    'float, big integer, -0.0 and an escaped NUL relayed byte for byte');

$line = relayed('"s-1"', '{ "finished" : true , "id" : ID , "v" : [1e400, 1.000000000000000000001, "\ud83d\ude00"] }');
is($line, '{ "finished" : true , "id" : "s-1" , "v" : [1e400, 1.000000000000000000001, "\ud83d\ude00"] }',
    'white space, member order and exotic numbers kept; only the id replaced');

$line = relayed('6.50', '{"id":ID,"finished":true,"x":"\u00e9"}');
is($line, '{"id":6.50,"finished":true,"x":"\u00e9"}', 'the caller\'s id as the caller wrote it');

# A request without an id gets its replies without one.
$c->send_raw(qq({"do":"forward","connection_id":"$wid","operation":{"do":"x"}}\n));
my $req = json()->decode($w->recv_line);
$w->send_raw(qq({"one":1.0,"id":$req->{id}}\n));
is($c->recv_line, '{"one":1.0}', 'no id for a caller that gave none (the last member)');
$c->send_raw(qq({"do":"forward","connection_id":"$wid","operation":{"do":"x"}}\n));
$req = json()->decode($w->recv_line);
$w->send_raw(qq({"id":$req->{id},"finished":true,"one":1.0}\n));
is($c->recv_line, '{"finished":true,"one":1.0}', 'no id for a caller that gave none (the first member)');

# Intermediate replies stream exactly, and the forward ends with the final one.
$c->send_raw(qq({"id":8,"do":"forward","connection_id":"$wid","operation":{"do":"x"}}\n));
$req = json()->decode($w->recv_line);
$w->send_raw(qq({"id":$req->{id},"sample":0.10}\n{"id":$req->{id},"finished":true,"max":2.50}\n));
is($c->recv_line, '{"id":8,"sample":0.10}', 'intermediate reply exact');
is($c->recv_line, '{"id":8,"finished":true,"max":2.50}', 'final reply exact');
$w->send_raw(qq({"id":$req->{id},"late":1}\n));
ok($c->quiet(0.2), 'nothing after the final reply');

# The operation reaches the target as the caller wrote it, our id in front.
$c->send_raw(qq({"id":14,"do":"forward","connection_id":"$wid","operation":{"do":"x","f":1.0,"big":12345678901234567890,"s":"a\\u0000b"}}\n));
like($w->recv_line, qr/^\{"id":\d+,"do":"x","f":1\.0,"big":12345678901234567890,"s":"a\\u0000b"\}$/,
    'operation arguments forwarded byte for byte');
$c->send_raw(qq({"id":16,"do":"forward","connection_id":"$wid","operation":{ "do" : "x" }}\n));
like($w->recv_line, qr/^\{"id":\d+,"do" : "x"\}$/, 'each member as written');
$c->send_raw(qq({"id":18,"do":"forward","connection_id":"$wid","operation":{"id":"mine","do":"x","f":1.0}}\n));
like($w->recv_line, qr/^\{"id":\d+,"do":"x","f":1\.0\}$/, 'an id of its own is dropped, the rest kept as written');

# Registered state, exactly as sent.
$c->send_raw(qq({"id":10,"do":"status"}\n));
my $status = $c->recv_line;
like($status, qr/"state":\{"name":"exact","one":1\.0,"big":12345678901234567890,"neg0":-0\.0,"nul":"a\\u0000b","exp":1E\+2,"u":"\\u00e9\\ud83d\\ude00","nested":\{"x":\[1\.50,-0\.0\]\},"process_id":\d+,"connection_id":"$wid"\}/,
    'status lists the state as it was sent');
my $parsed = json()->decode($status);
is($parsed->{connections}[0]{state}{nul}, "a\0b", 'a strict parser reads the NUL back');

# A second register merges, each member still as sent.
$w->send_raw(qq({"id":4,"do":"register","state":{"one":2.0,"more":[0.0]}}\n));
ok(json()->decode($w->recv_line)->{connection_id}, 'registered again');
$c->send_raw(qq({"id":12,"do":"status"}\n));
like($c->recv_line, qr/"state":\{"name":"exact","one":2\.0,"big":12345678901234567890,.*"more":\[0\.0\]/,
    'merged state keeps the new members as sent');

is($d->stop, 0, 'SIGTERM: exit status 0');
done_testing();
