#!/usr/bin/perl
# A subscriber to events that never reads, while 3,000 workers register
# and leave, costs the other peers nothing measurable and cannot pin the
# daemon's memory: its output is capped like any slow reader's and it is
# dropped once over the cap, logged.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Socket qw(SOL_SOCKET SO_RCVBUF);
use Test::More;
use Time::HiRes qw(time);
use SupTest;

my $d = start_daemon(log_level => 'info', args => ['--max-buffer', '256K']);
my $asker = $d->client;
my $watcher = $d->client;    # a subscriber that reads, for comparison
$watcher->send({ id => 2, do => 'events', types => ['removed'] });
$watcher->recv;

my $deaf = $d->client;
setsockopt($deaf->sock, SOL_SOCKET, SO_RCVBUF, 4096);
$deaf->send({ id => 2, do => 'events' });

my ($slowest, $answered, $registered, $max_rss, $removed) = (0, 0, 0, 0, 0);
for my $round (1 .. 30) {
	my @workers = map { $d->client } 1 .. 100;
	$_->send({ id => 2, do => 'register', state => { name => "w$round", pad => 'p' x 100 } }) for @workers;
	for (@workers) {
		my $r = $_->recv;
		$registered++ if $r && $r->{connection_id};
	}
	my $t0 = time;
	my $r = $asker->call_final('status');
	my $took = time - $t0;
	$slowest = $took if $took > $slowest;
	$answered++ if $r && $r->{finished};
	$_->close for @workers;
	while ($removed < 100 * $round) {
		my $msg = $watcher->recv(10) or last;
		$removed++ if ($msg->{event} // '') eq 'removed';
	}
	my $rss = $d->proc_status->{VmRSS} // 0;
	$max_rss = $rss if $rss > $max_rss;
}
is($registered, 3000, '3,000 workers registered');
is($answered, 30, 'every status call between them answered');
cmp_ok($slowest, '<', 0.5 * ($ENV{SUPERVISORD_WRAPPER} ? 10 : 1),
    sprintf('promptly (slowest round trip %.3f s)', $slowest));
is($removed, 3000, 'a subscriber that reads got every removed event');
ok(wait_until(sub { $d->log =~ /dropping connection: .*does not read/ }, 5),
    'the one that never reads was dropped, and that was logged');
is(scalar(() = $d->log =~ /dropping connection/g), 1, 'no one else was dropped');
SKIP: {
	skip "memory figures are not the daemon's own here", 1 unless memory_judged();
	cmp_ok($max_rss, '<', 16 * 1024, "the daemon stayed under 16 MiB (peak seen $max_rss kB)");
}
ok($asker->call_final('status')->{finished}, 'still serving');
is($d->stop, 0, 'clean exit');
done_testing();
