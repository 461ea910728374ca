#!/usr/bin/perl
# Wire protocol (SPEC 2): bad input gets one failure reply in plain words,
# and the connection carries on with the next line.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use SupTest;

my $d = start_daemon();
my $c = $d->client;

# Sends one raw line; returns the single reply, after checking nothing else came.
sub answer {
	my ($line) = @_;
	$c->send_raw("$line\n");
	my $r = $c->recv(2);
	return $r;
}

sub fails_with {
	my ($line, $error, $name) = @_;
	my $r = answer($line);
	ok($r && $r->{finished} && $r->{failed}, "$name: a failure") or return;
	if (ref $error) {
		like($r->{error}, $error, "$name: error says what was wrong");
	} else {
		is($r->{error}, $error, "$name: error says what was wrong");
	}
	return $r;
}

fails_with('{"id":2,"do":', qr/^Invalid JSON/, 'truncated JSON');
fails_with('not json at all', qr/^Invalid JSON/, 'plain text');
fails_with('{"id":2,"do":"status"} {"id":4}', qr/^Invalid JSON: unexpected data after the message/,
    'two objects on one line');
fails_with('[1,2,3]', qr/must be a JSON object/, 'an array');
fails_with('"status"', qr/must be a JSON object/, 'a string');
fails_with('42', qr/must be a JSON object/, 'a number');
fails_with('null', qr/must be a JSON object/, 'null');

my $r = fails_with('{"id":2,"do":42}', qr/'do' must be a string/, 'numeric do');
is($r->{id}, 2, 'numeric do: the request id is echoed');
$r = fails_with('{"id":"x","do":["status"]}', qr/'do' must be a string/, 'array do');
is($r->{id}, 'x', 'array do: the request id is echoed');
fails_with('{"do":null}', qr/'do' must be a string/, 'null do');
fails_with('{}', qr/missing 'do'/, 'an empty object without id');

$r = fails_with('{"id":6,"do":"frobnicate"}', "Unknown operation 'frobnicate'", 'unknown operation');
is($r->{id}, 6, 'unknown operation: id echoed');
fails_with('{"id":6,"do":""}', "Unknown operation ''", 'empty operation name');
$r = fails_with('{"id":6,"do":"' . ('é' x 300) . '"}', qr/^Unknown operation '/, 'long operation name');
ok(length($r->{error}) < 600, 'long operation name: the error is shortened');
ok(utf8::decode(my $copy = $r->{error}), 'long operation name: the error is still valid UTF-8');

# Wrong parameter types.
fails_with('{"id":8,"do":"register","state":"x"}', "Parameter 'state' of 'register' must be an object",
    'register with a string state');
fails_with('{"id":8,"do":"register","state":[1]}', "Parameter 'state' of 'register' must be an object",
    'register with an array state');
fails_with('{"id":8,"do":"forward","connection_id":7,"operation":{"do":"x"}}',
    "Parameter 'connection_id' of 'forward' must be a string", 'forward with a numeric connection_id');
fails_with('{"id":8,"do":"forward","connection_id":"x","timeout":"soon","operation":{"do":"x"}}',
    "Parameter 'timeout' of 'forward' must be a number", 'forward with a string timeout');
fails_with('{"id":8,"do":"restart","signal":{}}', "Parameter 'signal' of 'restart' must be a signal name or number",
    'restart with an object signal');

# Binary garbage, including NUL bytes, in and around lines.
my $garbage = join('', map { chr(($_ * 37 + 11) % 256) } 0 .. 2000);
$garbage =~ s/\n//g;
$r = answer($garbage);
ok($r && $r->{failed}, 'binary garbage: one failure');
$r = answer("{\"id\":10,\"do\":\"status\"}\0\0\0");
ok($r && $r->{failed}, 'NUL bytes after a request: a failure');
$r = answer("\0{\"id\":10,\"do\":\"status\"}");
ok($r && $r->{failed}, 'a NUL byte before a request: a failure');
$r = answer("{\"id\":10,\"do\":\"sta\0tus\"}");
ok($r && $r->{failed}, 'a NUL byte inside the operation name: a failure');
$r = answer("\xff\xfe{\"id\":10}");
ok($r && $r->{failed}, 'invalid UTF-8: a failure');

# Nesting deep enough to crash a recursive parser is refused, not followed.
$r = answer('{"id":12,"do":"status","x":' . ('[' x 100000) . (']' x 100000) . '}');
ok($r && $r->{failed}, 'deeply nested input: a failure');

# Replies to calls nobody made are ignored silently.
$c->send_raw(qq({"id":3,"finished":true}\n{"id":999,"x":1}\n{"id":"s","finished":true,"failed":true}\n));
ok($c->quiet(0.2), 'stale replies get no answer');
ok(wait_until(sub { $d->log =~ /ignoring a reply to no open call/ }, 2), 'stale replies logged at debug');

# After all of it, the connection still works and nothing extra is queued.
$r = $c->call_final('status');
ok($r->{finished} && !$r->{failed}, 'connection carries on');
ok($c->quiet(0.1), 'exactly one reply per bad line');
$c->close;
is($d->stop, 0, 'SIGTERM: exit status 0');
done_testing();
