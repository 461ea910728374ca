#!/usr/bin/perl
# Input validation (SPEC 2; issue 9.6, 9.7, 9.9): states nested past 32
# levels, invalid UTF-8 anywhere in a line, NULs inside protocol strings and
# repeated id/do/finished members each get one clear failure, and nothing
# invalid is ever echoed.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use SupTest;

my $d = start_daemon();
my $c = $d->client;

sub answer {
	my ($line) = @_;
	$c->send_raw("$line\n");
	return $c->recv_line(5);
}

sub fails_with {
	my ($line, $error, $name) = @_;
	my $text = answer($line);
	ok(defined $text, "$name: answered") or return;
	ok(utf8::decode(my $copy = $text), "$name: the reply is valid UTF-8");
	my $r = json()->decode($text);
	ok($r->{finished} && $r->{failed}, "$name: a failure");
	ref $error ? like($r->{error}, $error, "$name: says why") : is($r->{error}, $error, "$name: says why");
	return $r;
}

# Nesting: a state may nest 32 levels (itself the first), not 33.
sub nested { my ($levels) = @_; return ('{"a":' x ($levels - 1)) . '{}' . ('}' x ($levels - 1)) }
my $r = json()->decode(answer(qq({"id":2,"do":"register","state":) . nested(32) . '}'));
ok($r->{connection_id} && !$r->{failed}, 'a state nested 32 levels is registered');
fails_with(qq({"id":4,"do":"register","state":) . nested(33) . '}',
    'State nested too deeply: more than 32 levels', 'a state nested 33 levels');
fails_with(qq({"id":4,"do":"register","state":{"x":) . ('[' x 40) . (']' x 40) . '}}',
    'State nested too deeply: more than 32 levels', 'arrays count as levels too');
fails_with(qq({"id":4,"do":"register","state":) . nested(997) . '}',
    'State nested too deeply: more than 32 levels', 'the 997 levels that broke status');
$r = json()->decode(answer('{"id":6,"do":"status"}'));
ok($r->{finished} && !$r->{failed}, 'status still answers with the 32-level state');

# Invalid UTF-8, anywhere in the line, named with its offset.
sub bad_utf8 {
	my ($line, $bad, $name) = @_;
	my $at = index($line, $bad);
	return fails_with($line, sprintf('Invalid UTF-8: byte 0x%02x at byte %d', ord($bad), $at), $name);
}
bad_utf8(qq({"id":8,"do":"status","x":"\xff"}), "\xff", 'a stray 0xff in a string');
bad_utf8(qq({"id":8,"do":"status","x":"\xc0\xaf"}), "\xc0", 'an overlong encoding');
bad_utf8(qq({"id":8,"do":"status","x":"\xed\xa0\x80"}), "\xed", 'a UTF-16 surrogate');
bad_utf8(qq({"id":8,"do":"status","x":"\xf4\x90\x80\x80"}), "\xf4", 'past U+10FFFF');
bad_utf8(qq({"id":8,"do":"status","x":"\xe2\x82"}), "\xe2", 'a cut sequence');
bad_utf8(qq({"id":8,"do":"status","x":"ok"}\x80), "\x80", 'a stray byte after the object');
# At every offset, whatever the alignment of the scan.
my $all_found = 1;
for my $pad (0 .. 24) {
	for my $bad ("\xff", "\x01", "\xe2\x82") {
		my $line = '{"id":8,"do":"status","pad":"' . ('a' x $pad) . $bad . ('b' x 11) . '"}';
		my $want = index($line, $bad);
		my $reply = json()->decode(answer($line) // '{}');
		$all_found = 0, diag("pad $pad: $reply->{error}") unless ($reply->{error} // '') =~ /at byte $want$/;
	}
}
ok($all_found, 'a bad byte is found at each of 25 offsets, for three kinds of bad byte');
$r = bad_utf8(qq({"id":"\xff\xfe","do":"status"}), "\xff", 'invalid UTF-8 in the id');
ok(!exists $r->{id}, 'invalid UTF-8 in the id: the id is not echoed');
bad_utf8(qq({"id":10,"do":"sta\xfftus"}), "\xff", 'invalid UTF-8 in do');
bad_utf8(qq({"id":10,"do":"register","state":{"name":"caf\xe9"}}), "\xe9",
    'a Latin-1 state is refused, so status stays valid for strict parsers');
$r = json()->decode(answer(qq({"id":12,"do":"register","state":{"name":"caf\xc3\xa9 \xe2\x98\x83 \xf0\x9f\x98\x80"}})));
ok($r->{connection_id}, 'valid UTF-8 of every length is taken');

# A worker's reply that is not valid UTF-8 fails its forward: the caller does not wait.
{
	my $wk = $d->client;
	my $wk_id = $wk->call_final('register')->{connection_id};
	$c->send({ id => 30, do => 'forward', connection_id => $wk_id, operation => { do => 'x' } });
	my $call_id = $wk->recv->{id};
	$wk->send_raw(qq({"id":$call_id,"finished":true,"x":"\xff"}\n));
	my $f = json()->decode($c->recv_line(5) // '{}');
	is($f->{id}, 30, 'an invalid UTF-8 reply: its caller hears');
	is($f->{error}, 'Invalid UTF-8 in the reply', '... that the reply could not be relayed');
	like($wk->recv_line(5) // '', qr/Invalid UTF-8: byte 0xff/, '... and the worker why');
	$wk->close;
}

# A reply cut short is not relayed as it is: its caller hears it was invalid.
{
	my $wk = $d->client;
	my $wk_id = $wk->call_final('register')->{connection_id};
	for my $cut ('{"id":ID,"finish', '{"id":ID,"finished":tru', '{"id":ID,"x":[1,2}', '{"id":ID,"x":1}}', '{"id":ID,"x":-}') {
		$c->send({ id => 32, do => 'forward', connection_id => $wk_id, operation => { do => 'x' } });
		my $call_id = $wk->recv->{id};
		$wk->send_raw(($cut =~ s/ID/$call_id/r) . "\n");
		my $text = $c->recv_line(5) // '';
		my $f = eval { json()->decode($text) } // {};
		is($f->{error}, 'Invalid JSON in the reply', "$cut: the caller hears the reply was invalid") or diag($text);
		like($wk->recv_line(5) // '', qr/Invalid JSON/, "$cut: the worker hears why");
	}
	$wk->close;
}

# NULs: protocol strings are compared whole.
$r = fails_with('{"id":14,"do":"status\u0000junk"}', qr/^Unknown operation 'status\\u0000junk'$/,
    'an operation name with a NUL is not status');
is($r->{id}, 14, 'the id is echoed');
my $w = $d->client;
my $wid = $w->call_final('register')->{connection_id};
$r = fails_with(qq({"id":16,"do":"forward","connection_id":"$wid\\u0000junk","operation":{"do":"x"}}),
    'Connection not found', 'a connection id with a NUL after it');
is($r->{connection_id}, "$wid\0junk", 'the connection id echoed whole');
ok($w->quiet(0.2), 'the worker got nothing');
fails_with('{"id":18,"do":"restart","signal":"INT\u0000"}', qr/^Unknown signal 'INT'/, 'a signal name with a NUL');

# Repeated members: readers that take the first and the last would disagree.
for my $member (qw(id do finished)) {
	my $line = {
		id => '{"id":20,"do":"status","id":22}',
		do => '{"id":20,"do":"status","do":"restart"}',
		finished => '{"id":20,"do":"status","finished":true,"finished":false}',
	}->{$member};
	fails_with($line, "Bad request: '$member' is given more than once", "a repeated '$member'");
}
$r = json()->decode(answer('{"id":24,"do":"status","x":{"id":1,"id":2}}'));
ok($r->{finished} && !$r->{failed}, 'a nested object may repeat a name');

ok($c->call_final('status')->{finished}, 'the connection carries on');
is($d->stop, 0, 'SIGTERM: exit status 0');
done_testing();
