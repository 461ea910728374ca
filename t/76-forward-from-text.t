#!/usr/bin/perl
# The common forward request is routed from its text: it must be taken,
# refused and relayed exactly as the parsed request would be, whatever
# cJSON reads differently from a plain scan.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use SupTest;

my $d = start_daemon();

my $w = $d->client;
$w->send_raw(qq({"id":2,"do":"register","state":{"name":"text"}}\n));
my $wid = json()->decode($w->recv_line)->{connection_id};
ok($wid, 'registered') or BAIL_OUT('cannot register');
my $c = $d->client;

# Sends a request line; returns the caller's answer, or the line the worker got (answered at once).
sub answer {
	my ($line) = @_;
	$c->send_raw("$line\n");
	return $c->recv_line;
}
sub forwarded {
	my ($line) = @_;
	$c->send_raw("$line\n");
	my $got = $w->recv_line;
	my $req = json()->decode($got);
	$w->send_raw(qq({"id":$req->{id},"finished":true}\n));
	my $reply = $c->recv_line;
	return ($got, $reply);
}

my ($got, $reply) = forwarded(qq({"id":4,"do":"forward","connection_id":"$wid","operation":{"do":"x","n":[1.50,-0.0],"s":"a\\"b"}}));
like($got, qr/^\{"id":\d+,"do":"x","n":\[1\.50,-0\.0\],"s":"a\\"b"\}$/, 'operation relayed as written');
is($reply, '{"id":4,"finished":true}', 'reply carries the id as written');

($got, $reply) = forwarded(qq({ "operation" : {"do":"y"} , "connection_id":"$wid", "do":"forward" ,"id":"s\\"6" }\t ));
like($got, qr/^\{"id":\d+,"do":"y"\}$/, 'any member order and white space');
is($reply, '{"id":"s\"6","finished":true}', 'a string id with an escape echoed as written');

my $long = '1' x 70;
($got, $reply) = forwarded(qq({"id":8,"do":"forward","connection_id":"$wid","operation":{"do":"x","n":$long}}));
is($got =~ s/^\{"id":\d+,/{/r, qq({"do":"x","n":$long}), 'a number of 70 digits relayed as written');
# The shortest such request (100 bytes) is taken too.
($got, $reply) = forwarded(qq({"id":0,"do":"forward","connection_id":"$wid","operation":{"do":""}}));
is($got =~ s/^\{"id":\d+,/{/r, '{"do":""}', 'the shortest request');
is($reply, '{"id":0,"finished":true}', 'its reply');

# What cJSON cannot read is refused as before, never relayed.
like(answer(qq({"id":10,"do":"forward","connection_id":"$wid","operation":{"do":"x","s":"\\ud800"}})),
    qr/"error":"Invalid JSON: parse error/, 'a lone surrogate escape: refused');
like(answer(qq({"id":12,"do":"forward","connection_id":"$wid","operation":{"do":5}})),
    qr/"error":"Missing 'operation' parameter"/, 'an operation whose do is no string: refused');
like(answer(qq({"id":14,"do":"forward","connection_id":"$wid","operation":[]})),
    qr/"error":"Missing 'operation' parameter"/, 'an operation that is no object: refused');
like(answer(qq({"id":16,"do":"forward","connection_id":"00000000-0000-4000-8000-000000000000","operation":{"do":"x"}})),
    qr/"error":"[^"]*not found/i, 'an unknown connection id: not found');
like(answer(qq({"id":18,"do":"forward","do":"forward","connection_id":"$wid","operation":{"do":"x"}})),
    qr/"error":"Bad request: 'do' is given more than once"/, 'a repeated member: refused');
like(answer(qq({"id":null,"do":"forward","connection_id":"$wid","operation":{"do":"x"}})),
    qr/"error":"Bad request: 'id' must be a number or a string"/, 'a null id: refused');

# What only the parser reads the same way still works through it.
($got, $reply) = forwarded(qq({"id":20,"d\\u006f":"forward","connection_id":"$wid","operation":{"do":"z"}}));
like($got, qr/^\{"id":\d+,"do":"z"\}$/, 'an escaped member name');
is($reply, '{"id":20,"finished":true}', 'its reply');
($got, $reply) = forwarded(qq({"id":22,"do":"forward","connection_id":"$wid","operation":{"do":"x"},"timeout":5}));
like($got, qr/^\{"id":\d+,"do":"x"\}$/, 'with a timeout');
($got, $reply) = forwarded(qq({"id":24,"do":"forward","name":"text","operation":{"do":"x"}}));
like($got, qr/^\{"id":\d+,"do":"x"\}$/, 'by name');
is($reply, '{"id":24,"finished":true}', 'its reply');

$d->stop;
done_testing();
