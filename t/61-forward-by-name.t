#!/usr/bin/perl
# forward by name (SPEC 3): the one connection whose state's name matches
# is the target; none is "Connection not found" with the name, several is
# "Ambiguous name" with their connection_ids.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use SupTest;

my $d = start_daemon();
my $c = $d->client;

my %workers;
for my $name (qw(web db db)) {
	my $w = $d->client;
	my $id = $w->call_final('register', state => { name => $name })->{connection_id};
	push @{ $workers{$name} }, { client => $w, id => $id };
}
my $other = $d->client;
$other->call_final('register', state => { name => 'Web ' });

$c->send({ id => 10, do => 'forward', name => 'web', operation => { do => 'ping', n => 1 } });
my $web = $workers{web}[0]{client};
my $request = $web->recv;
is($request->{do}, 'ping', 'one match: the operation reaches the worker named web');
is($request->{n}, 1, 'with its fields');
$web->send({ id => $request->{id}, finished => JSON::PP::true, pong => 1 });
is_deeply([$c->collect(10)], [{ id => 10, finished => JSON::PP::true, pong => 1 }],
    'and its reply comes back under the caller\'s id');

my $r = $c->call_final('forward', name => 'nobody', operation => { do => 'ping' });
ok($r->{failed} && $r->{finished}, 'no match: a failure');
is($r->{error}, 'Connection not found', 'no match: "Connection not found"');
is($r->{name}, 'nobody', 'no match: the name echoed');
ok(!exists $r->{connection_id}, 'no match: no connection_id made up');

$r = $c->call_final('forward', name => 'WEB', operation => { do => 'ping' });
is($r->{error}, 'Connection not found', 'names are compared exactly (case)');

$r = $c->call_final('forward', name => 'db', operation => { do => 'ping' });
ok($r->{failed} && $r->{finished}, 'two matches: a failure');
is($r->{error}, 'Ambiguous name', 'two matches: "Ambiguous name"');
is_deeply([sort @{ $r->{connection_ids} }], [sort map { $_->{id} } @{ $workers{db} }],
    'two matches: both connection_ids listed');
ok($workers{db}[0]{client}->quiet(0.2) && $workers{db}[1]{client}->quiet(0),
    'two matches: neither worker got the operation');

$workers{db}[1]{client}->close;
ok(wait_until(sub {
	my $s = $c->call_final('status');
	return @{ $s->{connections} } == 3;
}), 'one of the two leaves');
$c->send({ id => 12, do => 'forward', name => 'db', operation => { do => 'ping' } });
my $db = $workers{db}[0]{client};
$request = $db->recv;
is($request->{do}, 'ping', 'the name is unique again: routed');
$db->send({ id => $request->{id}, finished => JSON::PP::true });
is(scalar(my @got = $c->collect(12)), 1, 'and answered');

$r = $c->call_final('forward', name => 'web', connection_id => $workers{web}[0]{id},
    operation => { do => 'ping' });
is($r->{error}, "Give 'connection_id' or 'name', not both", 'both given: refused');
$r = $c->call_final('forward', operation => { do => 'ping' });
is($r->{error}, "Missing 'connection_id' parameter", 'neither given: the reference\'s error');
$r = $c->call_final('forward', name => 5, operation => { do => 'ping' });
like($r->{error}, qr/^Parameter 'name' of 'forward' must be a string/, 'a name that is not a string: refused');
$r = $c->call_final('forward', name => 'web');
is($r->{error}, "Missing 'operation' parameter", 'by name without operation: refused');

ok($d->alive, 'daemon still running');
is($d->stop, 0, 'clean exit');
done_testing();
