#!/usr/bin/perl
# When a monitor acts on a registered process, the connection's status
# entry carries last_action (monitor, action, reason, signal, at and the
# figures that decided it) for the connection's life: a new child published
# with update still shows why the previous one was signalled. Subscribers
# get a monitor event with the same fields.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use POSIX qw(SIGINT);
use Test::More;
use Time::HiRes qw(time);
use SupTest;
use MonTest;

my $d = start_daemon(args => ['-M', 'memory:interval=1,maximum-size-limit=40M']);
my $watch = $d->client;
$watch->send({ id => 2, do => 'events', types => ['monitor'] });
$watch->recv;

my $big = hog(60);
my $w = $d->client;
my $id = $w->call_final('register', state => { name => 'leaky', process_id => $big })->{connection_id};
ok($id, 'a process over the limit registered');

sub entry {
	my ($status) = grep { $_->{finished} } $d->client->call('status');
	my ($e) = grep { $_->{connection_id} eq $id } @{ $status->{connections} };
	return $e;
}

ok(!exists entry()->{last_action}, 'no last_action before the monitor acts');
my $before = time;
ok(killed_by($big, SIGINT, 3), 'the memory monitor signalled it');
ok(wait_until(sub { entry()->{last_action} }, 3), 'status now carries last_action');
my $action = entry()->{last_action};
is_deeply([@$action{qw(monitor action reason signal)}], ['memory', 'signal', 'maximum-size-limit', 'INT'],
    'last_action: monitor, action, reason and signal');
ok($action->{at} >= int($before) && $action->{at} <= time + 1, 'last_action: at, in Unix seconds');
cmp_ok($action->{current_size}, '>', 60 * MIB, 'last_action: the size that decided it');
is($action->{maximum_size_limit}, 40 * MIB, 'last_action: and the limit it was over');

my $event = $watch->recv;
is_deeply([@$event{qw(event connection_id process_id name monitor action reason signal)}],
    ['monitor', $id, $big, 'leaky', 'memory', 'signal', 'maximum-size-limit', 'INT'],
    'a monitor event: whose process, and what was done');
is($event->{current_size}, $action->{current_size}, 'the event has the same figures');

# The wrapper's way: the same connection publishes a new child.
my $small = hog(1);
my $r = $w->call_final('update', state => { process_id => $small, restarts => 1 });
ok(!$r->{failed}, 'a new child published with update');
my $e = entry();
is($e->{process_id}, $small, 'status lists the new child');
is_deeply($e->{last_action}, $action, 'and still says why the previous one was signalled');
$w->call_final('register');
is_deeply(entry_by_pid($small)->{last_action}, $action, 'registering again on the same connection keeps it too');

sub entry_by_pid {
	my ($pid) = @_;
	my ($status) = grep { $_->{finished} } $d->client->call('status');
	my ($found) = grep { $_->{process_id} == $pid } @{ $status->{connections} };
	return $found;
}

my $other = $d->client;
$other->call_final('register', state => { name => 'fresh' });
ok(!exists entry_by_pid($$)->{last_action}, 'another connection has none');
is($d->stop, 0, 'clean exit');
done_testing();
