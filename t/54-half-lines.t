#!/usr/bin/perl
# Peers that send half a line: 300 send part of a request and vanish, 300
# send part of one and stay silent; a worker vanishes halfway through a
# reply line. Nobody else is disturbed, the half lines are never taken
# for messages, the forward's caller learns the worker is gone, and every
# fd is given back.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use SupTest;

my $d = start_daemon();
my $c = $d->client;
$c->call_final('status');
my $fds_before = $d->fd_count;
my $request = qq({"id":2,"do":"register","state":{"name":"half"}}\n);

my @silent;
for my $i (1 .. 300) {
	my $vanisher = $d->client;
	$vanisher->send_raw(substr($request, 0, 1 + $i % (length($request) - 2)));
	$vanisher->close;
	my $stayer = $d->client;
	$stayer->send_raw(substr($request, 0, 1 + ($i * 7) % (length($request) - 2)));
	push @silent, $stayer;
}
my $status = $c->call_final('status');
ok($status && $status->{finished}, 'others are served meanwhile');
is_deeply($status->{connections}, [], 'no half line was taken for a registration');
ok(wait_until(sub { $d->fd_count == $fds_before + 300 }, 5), 'the vanished peers\' fds are closed');
my $left = () = $d->log =~ /peer left mid-line/g;
is($left, 300, 'each is logged as leaving mid-line');
ok($silent[0]->quiet(0.2), 'a silent half line gets no reply');
$silent[0]->send_raw(substr($request, 1 + 7 % (length($request) - 2)));
my $r = $silent[0]->recv;
ok($r && $r->{connection_id}, 'finishing the line completes the request');
$_->close for @silent;
ok(wait_until(sub { $d->fd_count == $fds_before }, 5), "fd count back to $fds_before");

# A worker that vanishes halfway through its reply.
my $w = $d->client;
my $id = $w->call_final('register')->{connection_id};
$c->send({ id => 10, do => 'forward', connection_id => $id, operation => { do => 'x' } });
my $req = $w->recv;
ok($req && $req->{do} eq 'x', 'worker got the forwarded call');
$w->send_raw(qq({"id":$req->{id},"finished":tr));
$w->close;
my @replies = $c->collect(10);
is(scalar @replies, 1, 'the caller gets exactly one reply');
is($replies[0]{error}, 'Connection closed', 'saying the worker is gone');
ok($c->quiet(0.3), 'and nothing after it');
is($d->stop, 0, 'clean exit');
done_testing();
