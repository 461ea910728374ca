#!/usr/bin/perl
# Deaf peers (SPEC 2, issue 9.1): peers that ask for a big status and never
# read it cannot pin the daemon's memory. Pending output over --max-buffer
# that does not drain costs its peer the connection (logged with figures),
# and output across all peers is bounded, so the daemon stays small while
# a peer that reads still gets its whole status.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Socket qw(SOL_SOCKET SO_RCVBUF);
use Test::More;
use Time::HiRes qw(time);
use SupTest;

my $DEAF = 100;
my $d = start_daemon(log_level => 'info');

# 100 workers with 64 KB states: a status reply of about 6.5 MB.
my @workers;
for my $i (1 .. 100) {
	my $w = $d->client;
	$w->send_raw(qq({"id":2,"do":"register","state":{"n":$i,"blob":") . ('b' x 64000) . qq("}}\n));
	push @workers, $w;
}
for my $w (@workers) {
	my $r = $w->recv(10);
	ok($r && $r->{connection_id}, 'worker registered') or BAIL_OUT('cannot register');
}
my $reader = $d->client;
$reader->send_raw(qq({"id":2,"do":"status"}\n));
my $status_len = length($reader->recv_line(20) // '');
cmp_ok($status_len, '>', 6_400_000, "status is $status_len bytes");
my $idle_kb = $d->proc_status->{VmRSS};

my @deaf;
for (1 .. $DEAF) {
	my $p = $d->client;
	setsockopt($p->sock, SOL_SOCKET, SO_RCVBUF, 4096);
	$p->send_raw(qq({"id":2,"do":"status"}\n));
	push @deaf, $p;
}

my $peak_kb = 0;
my $drops = sub { scalar(() = $d->log =~ /dropping connection: it does not read its replies/g) };
ok(wait_until(sub {
	my $rss = $d->proc_status->{VmRSS} // 0;
	$peak_kb = $rss if $rss > $peak_kb;
	$drops->() >= $DEAF;
}, 90), 'every deaf peer is dropped in the end (' . $drops->() . " of $DEAF)");
my $memory_judged = memory_judged();
cmp_ok($memory_judged ? $peak_kb / 1024 : 0, '<', 64, sprintf('daemon resident memory stayed under 64 MiB (peak seen %.1f MiB, %.1f MiB before)',
    $peak_kb / 1024, $idle_kb / 1024));
like($d->log, qr/dropping connection: it does not read its replies conn=\d+ pid=\d+ pending=\d+ unprocessed=\d+ max_buffer=\d+ stalled_ms=\d+ output_total=\d+/,
    'each drop is logged with its figures');
like($d->log, qr/output budget spent: holding every peer's requests output_total=\d+ max_output_total=\d+/,
    'the output budget held requests meanwhile');

# A peer that reads still gets its whole big status, and the daemon gives its memory back.
$reader->send_raw(qq({"id":4,"do":"status"}\n));
is(length($reader->recv_line(20) // ''), $status_len, 'a reading peer gets the whole status');
ok(!$memory_judged || wait_until(sub { $d->proc_status->{VmRSS} < $idle_kb + 4096 }, 5),
    sprintf('memory back near where it was: %.1f MiB', $d->proc_status->{VmRSS} / 1024));
$_->close for @deaf;
is($d->stop, 0, 'SIGTERM: exit status 0');
done_testing();
