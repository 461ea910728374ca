#!/usr/bin/perl
# Registering again merges the new state into the old one key by key: an
# existing key is replaced (the daemon once freed the key while copying it,
# found by fuzz/fuzz_rpc), keys differing only in case stay distinct, and
# the daemon's own fields always win.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use SupTest;

my $d = start_daemon();
my $w = $d->client;
my $first = $w->call_final('register', state => { name => 'w', A => 1, keep => 'k' });
ok($first->{connection_id}, 'first registration');
my $second = $w->call_final('register',
    state => { name => 'x', a => 2, connection_id => 'forged', process_id => undef });
ok($second->{connection_id} && $second->{connection_id} ne $first->{connection_id},
    'registering again gives a new connection_id');
my $dup = $w->call_final('register', state => { name => 'y' });
$w->send_raw(qq({"id":90,"do":"register","state":{"name":"z","name":"zz"}}\n));
my ($third) = $w->collect(90);
ok($third && $third->{connection_id}, 'a state with a repeated key registers');

my $status = $d->client->call_final('status');
is(scalar @{ $status->{connections} }, 1, 'one connection listed');
my $state = $status->{connections}[0]{state};
is($state->{name}, 'zz', 'the last value of a key wins');
is($state->{A}, 1, 'a key of another case is kept');
is($state->{a}, 2, 'a key differing only in case is added');
is($state->{keep}, 'k', 'keys not sent again are kept');
is($state->{connection_id}, $third->{connection_id}, 'connection_id in state is the daemon\'s');
is($state->{process_id}, $status->{connections}[0]{process_id}, 'process_id in state is the daemon\'s');
ok($d->alive, 'daemon still running');
is($d->stop, 0, 'clean exit');
done_testing();
