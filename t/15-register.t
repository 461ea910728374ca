#!/usr/bin/perl
# register (SPEC 3): connection ids, state merging, and which process_id a
# connection may claim.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use SupTest;

my $UUID_V4 = qr/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

my $d = start_daemon();

sub status_connections { $d->client->call_final('status')->{connections} }

subtest 'connection_id is a fresh UUID v4' => sub {
	my $c = $d->client;
	my @r = $c->call('register');
	is(scalar @r, 1, 'one reply');
	ok($r[0]{finished} && !$r[0]{failed}, 'finished');
	like($r[0]{connection_id}, $UUID_V4, 'connection_id is a version 4 UUID');
	my %seen;
	for (1 .. 50) {
		my $id = $d->client->call_final('register')->{connection_id};
		$seen{$id}++;
	}
	is(scalar keys %seen, 50, '50 registrations, 50 different ids');
};

subtest 'process_id comes from SO_PEERCRED when not given' => sub {
	my $c = $d->client;
	my $id = $c->call_final('register', state => { name => 'w' })->{connection_id};
	my ($entry) = grep { $_->{connection_id} eq $id } @{ status_connections() };
	is($entry->{process_id}, $$, 'process_id is the peer pid');
	is($entry->{state}{process_id}, $$, 'and the state says so too');
	is($entry->{state}{connection_id}, $id, 'state holds the connection_id');
};

subtest 'state is merged shallowly, keys overwrite' => sub {
	my $c = $d->client;
	$c->call_final('register', state => { a => 1, nested => { x => 1, y => 2 }, keep => 'yes' });
	my $id = $c->call_final('register', state => { a => 2, nested => { z => 3 }, added => [1, 2] })->{connection_id};
	my ($entry) = grep { $_->{connection_id} eq $id } @{ status_connections() };
	is($entry->{state}{a}, 2, 'a key is overwritten');
	is_deeply($entry->{state}{nested}, { z => 3 }, 'a nested object is replaced, not merged');
	is($entry->{state}{keep}, 'yes', 'an absent key is kept');
	is_deeply($entry->{state}{added}, [1, 2], 'a new key is added');
};

subtest 'names differing only in case are different keys' => sub {
	my $c = $d->client;
	$c->call_final('register', state => { Name => 'upper', PROCESS_ID => 'not a pid' });
	my $id = $c->call_final('register', state => { name => 'lower' })->{connection_id};
	my ($entry) = grep { $_->{connection_id} eq $id } @{ status_connections() };
	is($entry->{state}{Name}, 'upper', 'Name kept');
	is($entry->{state}{name}, 'lower', 'name added');
	is($entry->{state}{PROCESS_ID}, 'not a pid', 'PROCESS_ID is just another key');
	is($entry->{state}{process_id}, $$, 'process_id set');
};

subtest 'a name repeated in one state: the last one wins' => sub {
	my $c = $d->client;
	$c->send_raw(qq({"id":2,"do":"register","state":{"k":1,"k":2,"k":3}}\n));
	my $id = $c->recv->{connection_id};
	my ($entry) = grep { $_->{connection_id} eq $id } @{ status_connections() };
	is($entry->{state}{k}, 3, 'k is 3');
};

subtest 'a claimed process_id that is a child of the peer is accepted' => sub {
	my $child = spawn(['sleep', '10']);
	my $c = $d->client;
	my $r = $c->call_final('register', state => { process_id => $child });
	ok(!$r->{failed}, 'accepted') or diag($r->{error});
	my ($entry) = grep { $_->{connection_id} eq $r->{connection_id} } @{ status_connections() };
	is($entry->{process_id}, $child, 'status lists the child pid');
	$r = $c->call_final('register', state => { process_id => $$ });
	ok(!$r->{failed}, 'the peer itself is accepted');
	kill 'KILL', $child;
	reap_pid($child);
};

subtest 'a grandchild is accepted' => sub {
	# sh forks sleep and waits: sleep is our grandchild.
	my $sh = spawn(['sh', '-c', 'sleep 10; :']);
	my $grandchild;
	wait_until(sub {
		# The parent pid follows the command name, which may hold spaces and parentheses.
		($grandchild) = map { m{/proc/(\d+)/stat} ? $1 : () }
		    grep { ((slurp($_) =~ /\)\s+\S+\s+(\d+)/)[0] // -1) == $sh } glob('/proc/[0-9]*/stat');
		$grandchild;
	}, 3);
	ok($grandchild, 'found the grandchild') or return;
	my $r = $d->client->call_final('register', state => { process_id => $grandchild + 0 });
	ok(!$r->{failed}, 'accepted') or diag($r->{error});
	kill 'KILL', $grandchild, $sh;
	reap_pid($sh);
};

subtest 'pid 1 and unrelated pids are refused' => sub {
	my $c = $d->client;
	my $r = $c->call_final('register', state => { process_id => 1, name => 'evil' });
	ok($r->{failed} && $r->{finished}, 'pid 1 refused');
	like($r->{error}, qr/Refusing process_id 1: it is not the connecting process \(pid $$\) or one of its descendants/,
	    'the error names the pid and the reason');
	is($r->{id}, 2, 'id echoed');
	ok(!grep({ ($_->{state}{name} // '') eq 'evil' } @{ status_connections() }), 'nothing registered');
	$r = $c->call_final('register', state => { process_id => getppid() });
	ok($r->{failed}, "the peer's own parent refused");
	$r = $c->call_final('register', state => { process_id => 4194304 });
	ok($r->{failed}, 'a pid that does not exist refused');
};

subtest 'a process_id that is not a positive integer is refused' => sub {
	my $c = $d->client;
	for my $bad ('"123"', '1.5', '-5', '0', 'true', '[1]', '{}', '1e99') {
		$c->send_raw(qq({"id":4,"do":"register","state":{"process_id":$bad}}\n));
		my $r = $c->recv;
		ok($r->{failed}, "process_id $bad refused");
		like($r->{error}, qr/'process_id' in state must be a process id/, "process_id $bad: error says why");
	}
	$c->send_raw(qq({"id":4,"do":"register","state":{"process_id":null}}\n));
	my $r = $c->recv;
	ok(!$r->{failed}, 'process_id null means none: the peer pid is taken');
};

subtest 'registering again replaces the old connection_id' => sub {
	my $c = $d->client;
	my $old = $c->call_final('register', state => { gen => 1 })->{connection_id};
	my $new = $c->call_final('register', state => { gen => 2 })->{connection_id};
	isnt($new, $old, 'a new id');
	my @mine = grep { ($_->{state}{gen} // 0) > 0 } @{ status_connections() };
	is(scalar @mine, 1, 'status lists the connection once');
	is($mine[0]{connection_id}, $new, 'under the new id');
	is($mine[0]{state}{connection_id}, $new, 'state holds the new id');
	my $r = $d->client->call_final('forward', connection_id => $old, operation => { do => 'x' });
	is($r->{error}, 'Connection not found', 'the old id is no longer forwardable');
	$c->close;
};

subtest 'a refused re-registration keeps the old one' => sub {
	my $c = $d->client;
	my $id = $c->call_final('register', state => { tag => 'kept' })->{connection_id};
	my $r = $c->call_final('register', state => { process_id => 1, tag => 'lost' });
	ok($r->{failed}, 'refused');
	my ($entry) = grep { $_->{connection_id} eq $id } @{ status_connections() };
	is($entry->{state}{tag}, 'kept', 'old registration and state intact');
};

is($d->stop, 0, 'SIGTERM: exit status 0');
done_testing();
