#!/usr/bin/perl
# forward (SPEC 3): the reference's error replies, word for word.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use SupTest;

my $d = start_daemon();
my $c = $d->client;
my ($worker, $wid) = register_worker($d);

sub fails {
	my ($params, $error, $name) = @_;
	my @r = $c->call('forward', %$params);
	is(scalar @r, 1, "$name: one reply");
	ok($r[0]{finished} && $r[0]{failed}, "$name: a failure");
	is($r[0]{error}, $error, "$name: \"$error\"");
	return $r[0];
}

fails({ operation => { do => 'info' } }, "Missing 'connection_id' parameter", 'no connection_id');
fails({ connection_id => undef, operation => { do => 'info' } }, "Missing 'connection_id' parameter",
    'null connection_id');
my $r = fails({ connection_id => 'no-such-id', operation => { do => 'info' } }, 'Connection not found',
    'unknown connection_id');
is($r->{connection_id}, 'no-such-id', 'connection_id echoed');
$r = fails({ connection_id => '00000000-0000-4000-8000-000000000000', operation => { do => 'info' } },
    'Connection not found', 'well-formed but unknown connection_id');
is($r->{connection_id}, '00000000-0000-4000-8000-000000000000', 'connection_id echoed');

fails({ connection_id => $wid }, "Missing 'operation' parameter", 'no operation');
fails({ connection_id => $wid, operation => undef }, "Missing 'operation' parameter", 'null operation');
fails({ connection_id => $wid, operation => 'info' }, "Missing 'operation' parameter", 'a string operation');
fails({ connection_id => $wid, operation => ['info'] }, "Missing 'operation' parameter", 'an array operation');
fails({ connection_id => $wid, operation => {} }, "Missing 'operation' parameter", 'operation without do');
fails({ connection_id => $wid, operation => { do => 7 } }, "Missing 'operation' parameter", 'operation with a numeric do');

fails({ connection_id => $wid, operation => { do => 'x' }, timeout => 0 },
    "Parameter 'timeout' must be a positive number of seconds", 'zero timeout');
fails({ connection_id => $wid, operation => { do => 'x' }, timeout => -1 },
    "Parameter 'timeout' must be a positive number of seconds", 'negative timeout');

ok($worker->quiet(0.1), 'the worker was sent nothing');

# A null timeout is no timeout.
$c->send({ id => 40, do => 'forward', connection_id => $wid, operation => { do => 'ping' }, timeout => undef });
my $req = $worker->recv;
is($req->{do}, 'ping', 'null timeout: forwarded');
$worker->send({ id => $req->{id}, finished => JSON::PP::true });
is($c->recv->{id}, 40, 'and answered');

$c->close;
$worker->close;
is($d->stop, 0, 'SIGTERM: exit status 0');
done_testing();
