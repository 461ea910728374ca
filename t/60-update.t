#!/usr/bin/perl
# update (SPEC 3): merges state into a registration and keeps its
# connection_id; refused before register; a new process_id is checked as
# register checks it, and the monitors follow the new pid instead of the old.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use SupTest;
use MonTest;

my $d = start_daemon(args => ['-M', 'memory:interval=60']);
my $w = $d->client;

my $r = $w->call_final('update', state => { status => 'running' });
ok($r->{failed} && $r->{finished}, 'update before register: a failure');
is($r->{error}, 'Not registered', 'update before register: "Not registered"');
$r = $w->call_final('update');
is($r->{error}, "Missing 'state' parameter", 'update without state: refused');
$r = $w->call_final('update', state => 'running');
like($r->{error}, qr/^Parameter 'state' of 'update' must be an object/, 'update with a non-object state: refused');

my $first = hog(1);
my $second = hog(1);
my $id = $w->call_final('register', state => { name => 'web', process_id => $first, status => 'starting' })
    ->{connection_id};
ok($id, 'registered');

sub entry {
	my ($status) = grep { $_->{finished} } $d->client->call('status');
	my ($e) = grep { $_->{connection_id} eq $id } @{ $status->{connections} };
	return $e;
}

my @replies = $w->call('update', state => { status => 'running', restarts => 0 });
is_deeply(\@replies, [{ id => $replies[0]{id}, finished => JSON::PP::true }], 'update: one plain final reply');
my $e = entry();
is($e->{state}{status}, 'running', 'update: a key replaced');
is($e->{state}{restarts}, 0, 'update: a key added');
is($e->{state}{name}, 'web', 'update: keys not sent are kept');
is($e->{connection_id}, $id, 'update: the connection_id is kept');
is($e->{state}{connection_id}, $id, 'update: state\'s connection_id is the daemon\'s');

$r = $w->call_final('update', state => { connection_id => 'forged', process_id => undef });
ok(!$r->{failed}, 'update with forged connection_id and a null process_id: accepted');
$e = entry();
is($e->{state}{connection_id}, $id, 'the daemon\'s connection_id wins');
is($e->{process_id}, $first, 'a null process_id leaves the pid as it was');
is($e->{state}{process_id}, $first, 'and state says so');

$r = $w->call_final('update', state => { process_id => 1 });
ok($r->{failed}, 'update to a pid that is not the peer nor its descendant: refused');
like($r->{error}, qr/^Refusing process_id 1: it is not the connecting process/, 'as register words it');
is(entry()->{process_id}, $first, 'and nothing changed');

my $processes = memory_section($d->client)->{processes};
ok($processes->{$first} && !$processes->{$second}, 'the memory monitor follows the first pid');
$r = $w->call_final('update', state => { process_id => $second, status => 'running', restarts => 1 });
ok(!$r->{failed}, 'update to a new child pid: accepted');
$e = entry();
is($e->{process_id}, $second, 'status lists the new pid');
is($e->{connection_id}, $id, 'under the same connection_id');
$processes = memory_section($d->client)->{processes};
ok(!$processes->{$first}, 'the memory monitor dropped the old pid');
ok($processes->{$second}, 'and follows the new one');
like($d->log, qr/^info updated connection_id=$id process_id=$second was=$first /m, 'the change is logged');

$w->close;
ok(wait_until(sub { !%{ memory_section($d->client)->{processes} } }), 'closing drops the new pid');
ok($d->alive, 'daemon still running');
is($d->stop, 0, 'clean exit');
done_testing();
