#!/usr/bin/perl
# events (SPEC 3): each open subscription costs every publish a look, so one
# connection may hold only a few; a peer repeating "events" is refused
# rather than made to slow the loop or grow the daemon for everyone.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use SupTest;

my $d = start_daemon(args => ['--restart-target=none']);
my $greedy = $d->client;
my $cap = 16;
for my $i (1 .. $cap) {
	$greedy->send({ id => 2 * $i, do => 'events', types => ['restart'] });
	my $r = $greedy->recv;
	ok($r && $r->{subscribed}, "subscription $i of $cap accepted") or diag explain $r;
}
$greedy->send({ id => 1000, do => 'events', types => ['restart'] });
my $r = $greedy->recv;
ok($r->{failed} && $r->{finished}, 'one more on the same connection: a failure');
is($r->{id}, 1000, 'under its id');
like($r->{error}, qr/^Too many event subscriptions on this connection \(at most $cap\)/, 'saying why');

# The open ones still work: each gets the event once.
my $other = $d->client;
$other->call_final('restart', signal => 'HUP');
my %seen;
for (1 .. $cap) {
	my $e = $greedy->recv;
	$seen{$e->{id}}++ if $e && ($e->{event} // '') eq 'restart';
}
is(scalar(keys %seen), $cap, 'every accepted subscription gets the event, under its own id');
ok($greedy->quiet(0.2), 'and nothing more (the refused one is not subscribed)');

# Other connections may still subscribe.
$other->send({ id => 2, do => 'events' });
ok($other->recv->{subscribed}, 'another connection still subscribes');

# A peer that pipelines many subscriptions costs the others nothing.
my $flood = $d->client;
$flood->send_raw(join('', map { "{\"id\":$_,\"do\":\"events\",\"types\":[\"restart\"]}\n" } 1 .. 5000));
my $failures = 0;
for (1 .. 5000) {
	my $m = $flood->recv(10) or last;
	$failures++ if $m->{failed};
}
is($failures, 5000 - $cap, 'a flood of subscriptions: all past the cap refused');
my $w = $d->client;
$w->call_final('register', state => { name => 'w' });
$w->close;
my $s = $d->client;
ok(scalar $s->call('status'), 'status answers');

$greedy->close;
$flood->close;
ok($d->alive, 'daemon still running');
is($d->stop, 0, 'clean exit');
done_testing();
