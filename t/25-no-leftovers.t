#!/usr/bin/perl
# Connections (SPEC 4): no fd, buffer or call record outlives a connection,
# however it ends.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Socket qw(SHUT_WR);
use Test::More;
use SupTest;

my $d = start_daemon(log_level => 'info', args => ['--max-message', '4K', '--max-buffer', '64K']);
my $watch = $d->client;
$watch->call_final('status');
my $baseline = $d->fd_count;

# One cycle: a worker registers, a caller forwards to it, and the forward
# ends one of several ways; then both go.
sub cycle {
	my ($n) = @_;
	my $w = $d->client;
	my $wid = $w->call_final('register', state => { n => $n, pad => 'p' x ($n % 7 * 100) })->{connection_id};
	my $c = $d->client;
	my $how = $n % 6;
	$c->send({ id => 2, do => 'forward', connection_id => $wid, operation => { do => 'x', n => $n },
	    ($how == 3 ? (timeout => 0.01) : ()) });
	my $req = $w->recv;
	if ($how == 0) {            # answered
		$w->send({ id => $req->{id}, progress => 1 });
		$w->send({ id => $req->{id}, finished => JSON::PP::true });
		$c->recv for 1 .. 2;
	} elsif ($how == 1) {       # the caller goes first
		$c->close;
	} elsif ($how == 2) {       # the target goes first
		$w->close;
		$c->recv;
	} elsif ($how == 3) {       # timed out
		$c->recv;
	} elsif ($how == 4) {       # the caller stops writing and is answered
		shutdown($c->sock, SHUT_WR);
		$w->send({ id => $req->{id}, finished => JSON::PP::true });
		$c->recv;
	} else {                    # garbage, an over-long line, a partial line
		$c->send_raw("\0garbage\n" . ('z' x 5000) . "\n{\"id\":4,\"do\":\"sta");
		$c->recv for 1 .. 2;
	}
	$w->close;
	$c->close;
}

cycle($_) for 1 .. 24;    # warm up the allocator
ok(wait_until(sub { $d->fd_count == $baseline }, 3), 'warm-up: fds back to baseline');
my $rss_before = $d->proc_status->{VmRSS};
cycle($_) for 25 .. 224;
ok(wait_until(sub { $d->fd_count == $baseline }, 3),
    "after 200 more cycles, fds back to baseline ($baseline, now ${\ $d->fd_count})");
ok(wait_until(sub { @{ $watch->call_final('status')->{connections} } == 0 }, 3), 'nothing left registered');
my $rss_after = $d->proc_status->{VmRSS};
SKIP: {
	skip "memory figures are not the daemon's own here", 1 unless memory_judged();
	cmp_ok($rss_after - $rss_before, '<', 512, "resident size steady ($rss_before kB -> $rss_after kB)");
}

# A peer that does not read goes, with output and input pending.
my $deaf = $d->client;
my $worker = $d->client;
$worker->call_final('register', state => { pad => 'w' x 2000 });
$deaf->sock->blocking(0);
my $batch = qq({"id":2,"do":"status"}\n) x 1000;
ok(wait_until(sub { !defined syswrite($deaf->sock, $batch) }, 5), 'the daemon stopped reading the deaf peer');
$deaf->close;
ok(wait_until(sub { $d->fd_count == $baseline + 1 }, 3), 'its fd is gone too');

$watch->close;
$worker->close;
is($d->stop, 0, 'SIGTERM: exit status 0 (and no leak under the sanitizer build)');
done_testing();
