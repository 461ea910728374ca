#!/usr/bin/perl
# Twenty peers that pipeline requests and never read the replies, at once,
# beside a busy one: each deaf peer's requests are held once its output
# backs up, it is dropped once what it sent on top passes the input cap,
# memory stays bounded by those caps, and the busy peer's calls keep being
# answered promptly throughout.
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
my $requests = qq({"id":2,"do":"status"}\n) x 400;    # 92 KB in all: past 16K + 64K held
my ($slowest, $answered) = (0, 0);
for my $round (1 .. 10) {
	for my $c (@deaf) {
		eval { $c->send_raw($requests) };    # fails once the daemon has dropped it
	}
	my $t0 = time;
	my $r = $busy->call_final('status');
	$slowest = time - $t0 if time - $t0 > $slowest;
	$answered++ if $r && $r->{finished};
}
is($answered, 10, 'the busy peer got every reply');
cmp_ok($slowest, '<', 0.5 * ($ENV{SUPERVISORD_WRAPPER} ? 10 : 1),
    sprintf('promptly (slowest %.3f s)', $slowest));
ok(wait_until(sub { (() = $d->log =~ /does not read its replies/g) == 20 }, 5),
    'all twenty deaf peers dropped') or diag($d->log =~ tr/\n//);
# Their replies so far are still in the socket: read through them to the end.
sub ends {
	my ($c) = @_;
	for (1 .. 10000) {
		return 1 if $c->eof(2);
		$c->{buf} = '';
	}
	return 0;
}
my $ended = grep { ends($_) } @deaf;
is($ended, 20, 'their connections were closed');
SKIP: {
	skip 'memory figures mean little under sanitizers or valgrind', 1
	    if $ENV{SUPERVISORD_WRAPPER} || ($ENV{SUPERVISORD} // '') =~ /asan/;
	# 20 peers x (64 KiB of output + 80 KiB of held input), and slack.
	cmp_ok($d->proc_status->{VmRSS} - $rss_before, '<', 8 * 1024,
	    'memory stayed bounded by the cap (' . $d->proc_status->{VmRSS} . " kB, from $rss_before)");
}
ok($busy->call_final('status')->{finished}, 'busy peer still served');
$_->close for @deaf, @workers, $busy;
is($d->stop, 0, 'clean exit');
done_testing();
