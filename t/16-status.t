#!/usr/bin/perl
# status (SPEC 3): every registered connection, in registration order.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use SupTest;

my $d = start_daemon();
my $asker = $d->client;

sub listed { $asker->call_final('status')->{connections} }

is_deeply(listed(), [], 'nothing registered: an empty list');

my @workers = map { $d->client } 1 .. 4;
my @ids = map { $workers[$_]->call_final('register', state => { n => $_ })->{connection_id} } 0 .. 3;
my $idle = $d->client;    # connected, never registers
$idle->call_final('status');

my $list = listed();
is_deeply([map { $_->{connection_id} } @$list], \@ids, 'listed in registration order');
is_deeply([sort keys %{ $list->[0] }], [qw(connection_id process_id registered_at state)],
    'each entry: connection_id, process_id, registered_at, state');
is($list->[2]{process_id}, $$, 'process_id');
is_deeply($list->[2]{state}, { n => 2, process_id => $$, connection_id => $ids[2] }, 'state');
is(scalar @$list, 4, 'an unregistered connection is not listed');

# One status reply, nothing else.
my @replies = $asker->call('status');
is(scalar @replies, 1, 'no monitors: only the final reply');

# Re-registering moves a connection to the end, under its new id.
my $again = $workers[0]->call_final('register')->{connection_id};
is_deeply([map { $_->{connection_id} } @{ listed() }], [@ids[1 .. 3], $again], 're-registered: listed last');

# A closed connection disappears.
$workers[1]->close;
ok(wait_until(sub { @{ listed() } == 3 }, 2), 'a closed connection disappears');
is_deeply([map { $_->{connection_id} } @{ listed() }], [@ids[2 .. 3], $again], 'the others stay in order');
$workers[2]->close;
$workers[3]->close;
$workers[0]->close;
ok(wait_until(sub { @{ listed() } == 0 }, 2), 'all closed: empty again');

# Many at once.
my @many = map { $d->client } 1 .. 300;
$_->send({ id => 2, do => 'register' }) for @many;
$_->recv for @many;
is(scalar @{ listed() }, 300, '300 registered, 300 listed');
$_->close for @many;
ok(wait_until(sub { @{ listed() } == 0 }, 3), 'and all gone when they close');

is($d->stop, 0, 'SIGTERM: exit status 0');
done_testing();
