#!/usr/bin/perl
# events (SPEC 3): the call stays open; a subscriber sees what happens to
# connections as it happens, in order, with the right ids; backlog replays
# the most recent events oldest first; types filters.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use SupTest;

my $d = start_daemon(args => ['--restart-target=none']);

# Subscribes and returns the client once the subscribed reply is in.
sub subscribe {
	my (%params) = @_;
	my $s = $d->client;
	$s->send({ id => 4, do => 'events', %params });
	my $first = $s->recv;
	is_deeply($first, { id => 4, subscribed => JSON::PP::true }, 'first reply: subscribed') or diag explain $first;
	return $s;
}

# The next n events a subscriber gets.
sub events {
	my ($s, $n) = @_;
	my @got;
	while (@got < $n) {
		my $msg = $s->recv;
		last unless $msg;
		push @got, $msg;
	}
	return @got;
}

sub brief { [map { [$_->{event}, $_->{connection_id} // '', $_->{reason} // ''] } @_] }

my $all = subscribe();
my $removed_only = subscribe(types => ['removed']);
ok($all->quiet(0.2), 'nothing happens: nothing arrives');

my $w = $d->client;
my $id = $w->call_final('register', state => { name => 'web' })->{connection_id};
$w->call_final('update', state => { status => 'running' });
my $again = $w->call_final('register')->{connection_id};
$w->close;

my @got = events($all, 5);
is_deeply(brief(@got), [['registered', $id, ''], ['updated', $id, ''], ['removed', $id, 're-registered'],
    ['registered', $again, ''], ['removed', $again, 'closed']],
    'registered, updated, removed (re-registered), registered, removed (closed), in order, with their ids');
is($got[0]{id}, 4, 'each under the subscriber\'s call id');
ok(!exists $got[0]{finished}, 'as intermediate replies');
is($got[0]{process_id}, $$, 'with the process_id');
is($got[0]{name}, 'web', 'and the name');
is($got[4]{name}, 'web', 'the name is known until the end');
like($got[0]{at}, qr/^\d+(\.\d+)?$/, 'at: Unix time');
ok(abs($got[0]{at} - time) < 60, 'at: now');
ok($got[4]{at} >= $got[0]{at}, 'at: in order');

my @removed = events($removed_only, 2);
is_deeply(brief(@removed), [['removed', $id, 're-registered'], ['removed', $again, 'closed']],
    'types: only the types asked for');
ok($removed_only->quiet(0.2), 'types: nothing else');

my $late = subscribe(backlog => 3);
is_deeply(brief(events($late, 3)), brief(@got[2 .. 4]), 'backlog 3: the 3 most recent, oldest first');
ok($late->quiet(0.2), 'backlog: then only what happens next');
my $filtered = subscribe(backlog => 5, types => ['registered']);
is_deeply(brief(events($filtered, 2)), brief(@got[0, 3]), 'backlog with types: the most recent of those types');

my $none = $d->client;
my $r = $none->call_final('events', types => ['registered', 'bogus']);
ok($r->{failed} && $r->{finished}, 'an unknown type: a failure');
like($r->{error}, qr/^Unknown event type 'bogus'/, 'naming it');
$r = $none->call_final('events', types => 'removed');
like($r->{error}, qr/^Parameter 'types' of 'events' must be an array/, 'types not an array: refused');
$r = $none->call_final('events', types => []);
like($r->{error}, qr/names no event type/, 'an empty types: refused');
$r = $none->call_final('events', backlog => -1);
like($r->{error}, qr/^Parameter 'backlog' of 'events' must be a whole number/, 'a negative backlog: refused');
$r = $none->call_final('events', backlog => 1.5);
like($r->{error}, qr/^Parameter 'backlog' of 'events' must be a whole number/, 'a fractional backlog: refused');

# A restart is an event too, even when nothing is signalled.
$none->call_final('restart', signal => 'HUP');
my ($restart) = events($all, 1);
is_deeply([@$restart{qw(event signal target)}], ['restart', 'HUP', 'none'], 'restart: signal and target');

# A forward that times out is an event about its target.
my $deaf = $d->client;
my $deaf_id = $deaf->call_final('register', state => { name => 'deaf' })->{connection_id};
events($all, 1);
$r = $none->call_final('forward', name => 'deaf', operation => { do => 'info' }, timeout => 0.2);
is($r->{error}, 'Timed out', 'a forward to a worker that never answers times out');
my ($timeout) = events($all, 1);
is_deeply([@$timeout{qw(event connection_id process_id name timeout)}],
    ['forward_timeout', $deaf_id, $$, 'deaf', 0.2], 'forward_timeout: the target, its name and the timeout');

# Closing a subscriber unsubscribes it; the others carry on.
$late->close;
$filtered->close;
my $x = $d->client;
my $xid = $x->call_final('register')->{connection_id};
is_deeply(brief(events($all, 1)), [['registered', $xid, '']], 'the remaining subscriber still gets events');
ok($d->alive, 'daemon still running');
is($d->stop, 0, 'clean exit');
done_testing();
