#!/usr/bin/perl
# Twenty peers that pipeline requests and never read the replies, at once,
# beside a busy one: each deaf peer's requests are held once its output
# backs up and the daemon stops reading from it (backpressure), memory stays
# bounded by the caps, and the busy peer's calls keep being answered
# promptly throughout.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Socket qw(SOL_SOCKET SO_RCVBUF);
use Test::More;
use Time::HiRes qw(time);
use SupTest;

my $d = start_daemon(log_level => 'info', args => ['--max-buffer', '64K', '--max-message', '16K']);
my @workers = map { $d->client } 1 .. 10;
$_->call_final('register', state => { name => 'w', pad => 'p' x 200 }) for @workers;
my $busy = $d->client;
$busy->call_final('status');
my $rss_before = $d->proc_status->{VmRSS};

my @deaf = map { $d->client } 1 .. 20;
setsockopt($_->sock, SOL_SOCKET, SO_RCVBUF, 4096) for @deaf;
$_->sock->blocking(0) for @deaf;
my $requests = qq({"id":2,"do":"status"}\n) x 400;    # 9 KB a round
my ($slowest, $answered) = (0, 0);
my %refused;
for my $round (1 .. 10) {
	for my $i (0 .. $#deaf) {
		$refused{$i} = 1 unless defined syswrite($deaf[$i]->sock, $requests);
	}
	my $t0 = time;
	my $r = $busy->call_final('status');
	$slowest = time - $t0 if time - $t0 > $slowest;
	$answered++ if $r && $r->{finished};
}
is($answered, 10, 'the busy peer got every reply');
cmp_ok($slowest, '<', 0.5 * ($ENV{SUPERVISORD_WRAPPER} ? 10 : 1),
    sprintf('promptly (slowest %.3f s)', $slowest));
# Writing on, each deaf peer finds the daemon has stopped reading it.
for my $i (0 .. $#deaf) {
	for (1 .. 1000) {
		last if $refused{$i};
		$refused{$i} = 1 unless defined syswrite($deaf[$i]->sock, $requests);
	}
}
is(scalar(keys %refused), 20, 'the daemon stopped reading every deaf peer');
unlike($d->log, qr/does not read its replies/, 'none dropped: held output stays under the cap');
SKIP: {
	skip "memory figures are not the daemon's own here", 1 unless memory_judged();
	# 20 peers x (64 KiB of output + 64 KiB of held input), and slack.
	cmp_ok($d->proc_status->{VmRSS} - $rss_before, '<', 8 * 1024,
	    'memory stayed bounded by the cap (' . $d->proc_status->{VmRSS} . " kB, from $rss_before)");
}
ok($busy->call_final('status')->{finished}, 'busy peer still served');
$_->close for @deaf, @workers, $busy;
is($d->stop, 0, 'clean exit');
done_testing();
