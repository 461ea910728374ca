#!/usr/bin/perl
# register across pid namespaces (SPEC 3): a worker in a container sharing
# the socket claims its pid as its own namespace numbers it; the daemon
# follows the peer as it sees it and keeps the claim. A daemon in a child
# namespace cannot see a peer outside it (SO_PEERCRED gives pid 0) and says
# so instead of recording pid 0.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use SupTest;

my $unshare = (grep { -x } map { "$_/unshare" } split /:/, $ENV{PATH})[0];
plan skip_all => 'needs root and unshare(1) for pid namespaces' unless $> == 0 && $unshare;
system("$unshare -pf --mount-proc true 2>/dev/null") == 0
    or plan skip_all => 'unshare -pf --mount-proc fails here (no pid namespaces in this container?)';

# The process unshare forked: pid 1 of the new namespace, as we number it.
sub inner_pid {
	my ($outer) = @_;
	my $inner;
	wait_until(sub {
		($inner) = split ' ', slurp("/proc/$outer/task/$outer/children");
		$inner;
	}, 5);
	return $inner;
}

my $CONTAINED = <<'PERL';
use IO::Socket::UNIX;
my ($socket, $claim, $out) = @ARGV;
my $s = IO::Socket::UNIX->new(Peer => $socket) or die "connect: $!";
$claim = $$ if $claim eq 'self';
print $s qq({"id":2,"do":"register","state":{"process_id":$claim,"name":"contained"}}\n);
my $reply = <$s>;
open(my $f, '>', "$out.tmp") or die; print $f $reply; close $f; rename("$out.tmp", $out);
sleep 1 while 1;
PERL

subtest 'a worker in another pid namespace registers its own namespace pid' => sub {
	my $d = start_daemon();
	for my $claim ('self', 7) {
		my $out = $d->dir . "/reply-$claim";
		my $outer = spawn([$unshare, '-pf', '--mount-proc', '--kill-child', 'perl', '-e', $CONTAINED,
		    $d->socket, $claim, $out]);
		my $inner = inner_pid($outer);
		ok(wait_until(sub { -e $out }, 10), "claim $claim: the worker got its reply") or next;
		my $reply = SupTest::json()->decode(slurp($out));
		ok(!$reply->{failed}, "claim $claim: accepted") or diag($reply->{error});
		my ($entry) = grep { $_->{connection_id} eq ($reply->{connection_id} // '') }
		    @{ $d->client->call_final('status')->{connections} };
		is($entry->{process_id}, $inner, "claim $claim: process_id is the peer's pid as the daemon sees it");
		is($entry->{state}{process_id}, $inner, "claim $claim: and the state says so too");
		is($entry->{state}{namespace_process_id}, $claim eq 'self' ? 1 : 7,
		    "claim $claim: the claim is kept as namespace_process_id");
		kill 'KILL', $outer;
		reap_pid($outer);
	}
	like($d->log, qr/registered connection_id=\S+ process_id=\d+/, 'logged');
	is($d->stop, 0, 'daemon stops cleanly');
};

subtest 'a claim from the daemon\'s own namespace is still checked' => sub {
	my $d = start_daemon();
	my $r = $d->client->call_final('register', state => { process_id => 1 });
	ok($r->{failed}, 'pid 1 refused');
	like($r->{error}, qr/not the connecting process/, 'as not the connecting process');
	is($d->stop, 0, 'daemon stops cleanly');
};

subtest 'a daemon in a child pid namespace refuses peers it cannot see' => sub {
	local $ENV{SUPERVISORD_WRAPPER} = join(' ', $unshare, '-pf', '--mount-proc', '--kill-child',
	    $ENV{SUPERVISORD_WRAPPER} // ());
	my $d = start_daemon();
	my $inner = inner_pid($d->pid);
	ok($inner, 'the daemon runs as pid 1 of its namespace') or return;
	my $c = $d->client;
	for my $state ({ name => 'outside' }, { process_id => $$ }) {
		my $r = $c->call_final('register', state => $state);
		ok($r->{failed}, 'register refused' . ($state->{process_id} ? ' with a claim' : ''));
		like($r->{error}, qr/has no pid in supervisord's pid namespace \(SO_PEERCRED gives 0/,
		    'the error says why');
	}
	is_deeply($c->call_final('status')->{connections}, [], 'nothing registered, no pid 0 recorded');
	kill 'TERM', $inner;
	is(reap_pid($d->pid, 10), 0, 'daemon stops cleanly');
};

done_testing();
