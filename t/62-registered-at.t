#!/usr/bin/perl
# Every connection status lists carries registered_at, the Unix time in
# seconds of its registration: kept by update, renewed by registering again.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time sleep);
use SupTest;

my $d = start_daemon();
my $w = $d->client;
my $asker = $d->client;

sub entry {
	my ($status) = $asker->call_final('status');
	return $status->{connections}[0];
}

my $before = int(time);
my $id = $w->call_final('register', state => { name => 'web' })->{connection_id};
my $after = int(time);
my $at = entry()->{registered_at};
like($at, qr/^\d+$/, 'registered_at: whole seconds');
ok($at >= $before && $at <= $after, 'registered_at: the time of the registration')
    or diag("$before <= $at <= $after");
ok(!exists entry()->{state}{registered_at}, 'beside state, not in it');
ok(!exists entry()->{last_action}, 'no last_action before any monitor acted');

# Let a second pass, so a renewed time can be told from the first.
sleep 0.05 while int(time) == $after;
$w->call_final('update', state => { status => 'running' });
is(entry()->{registered_at}, $at, 'update keeps registered_at');
$w->call_final('register');
ok(entry()->{registered_at} > $at, 'registering again renews it');
is($d->stop, 0, 'clean exit');
done_testing();
