#!/usr/bin/perl
# Wire protocol (SPEC 2): the shapes of replies and how request ids are echoed.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use SupTest;

my $d = start_daemon();
my $c = $d->client;

# A final reply is one line: {"id":I,"finished":true,...}.
$c->send_raw(qq({"id":2,"do":"status"}\n));
my $line = $c->recv_line;
like($line, qr/^\{"id":2,"finished":true,"connections":\[\]\}$/, 'status: final reply shape, id first');

# A failure: {"id":I,"finished":true,"failed":true,"error":"text"}.
my $r = $c->call_final('frobnicate');
ok($r->{finished} && $r->{failed}, 'failure is finished and failed');
is($r->{error}, "Unknown operation 'frobnicate'", 'unknown operation named in the error');

# Number and string ids come back exactly as written.
my @ids = ('7', '-12', '0', '2.5', '1.0', '1e3', '12345678901234567890',
    '"abc"', '""', '"with \"quotes\" and \\\\ and \u00e9"', '"\u2603 snow"');
for my $id (@ids) {
	$c->send_raw(qq({"do":"status","id":$id}\n));
	my $reply = $c->recv_line;
	like($reply, qr/^\{"id":\Q$id\E,"finished":true,/, "id $id echoed verbatim")
	    or diag($reply);
}
# Whitespace around the id is not part of it.
$c->send_raw(qq({ "id" :  42 , "do":"status"}\n));
like($c->recv_line, qr/^\{"id":42,"finished":true/, 'id with whitespace around it');
# A repeated "id" is a bad request: readers that take the last would disagree on it.
$c->send_raw(qq({"id":4,"do":"status","id":5}\n));
is($c->recv_line, q({"finished":true,"failed":true,"error":"Bad request: 'id' is given more than once"}),
    'duplicate id: a bad request, neither id echoed');

# Only a top-level id counts, wherever it stands and whatever precedes it.
for my $case (
	[q({"do":"status","x":{"id":9,"y":["id",{"id":8}]},"id":7}), '7'],
	[q({"do":"status","s":"\"id\":6,","id":-3.25e-2}), '-3.25e-2'],
	[q({"do":"status","id":"a,}\"]b"}), q("a,}\"]b")],
	[q({"do":"status","n":[1,[2,[3]]],"t":true,"f":null,"id":5 }), '5'],
	[qq({\t"id"\t:\t11\t,"do":"status"}), '11'],
) {
	$c->send_raw("$case->[0]\n");
	like($c->recv_line, qr/^\{"id":\Q$case->[1]\E,"finished":true/, "id $case->[1] found in $case->[0]");
}

# Any other kind of id makes a bad request, answered without an id.
for my $bad ('{}', '[2]', 'true', 'false', 'null') {
	$c->send_raw(qq({"id":$bad,"do":"status"}\n));
	my $reply = json()->decode($c->recv_line);
	ok(!exists $reply->{id}, "id $bad: reply carries no id");
	ok($reply->{failed} && $reply->{finished}, "id $bad: failure");
	like($reply->{error}, qr/'id' must be a number or a string/, "id $bad: error says why");
}

# A request without an id is served; its replies carry no id.
$c->send_raw(qq({"do":"status"}\n));
is($c->recv_line, '{"finished":true,"connections":[]}', 'request without id served, no id in reply');
$c->send_raw(qq({"do":"nope"}\n));
is($c->recv_line, q({"finished":true,"failed":true,"error":"Unknown operation 'nope'"}),
    'failure without id');

# Still usable after all that.
ok($c->call_final('status')->{finished}, 'connection still serves');
ok($c->quiet(0.1), 'no stray replies');
$c->close;
is($d->stop, 0, 'SIGTERM: exit status 0');
done_testing();
