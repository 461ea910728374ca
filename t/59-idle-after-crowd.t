#!/usr/bin/perl
# Memory (SPEC 9): once a crowd of peers smaller than a hundred has come,
# registered sizeable states and gone, the daemon gives the heap back and
# idles within the resident budget again.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use SupTest;

my $d = start_daemon(log_level => 'debug');
my $watch = $d->client;
$watch->call_final('status');
my $baseline = $d->fd_count;
my $anon_fresh = $d->proc_status->{RssAnon};

my @crowd;
for my $n (1 .. 50) {
	my $c = $d->client;
	$c->call_final('register', state => { n => $n, pad => 'x' x 30000 });
	push @crowd, $c;
}
$watch->call_final('status');
my $anon_peak = $d->proc_status->{RssAnon};
$_->close for @crowd;
ok(wait_until(sub { $d->fd_count == $baseline }, 3), 'the crowd has gone');
$watch->call_final('status');
# The last of the crowd may leave after the first trim: a second one, with
# the code pages the crowd touched, follows a second after the last close
# (its log line is start-up's again), and then the daemon sleeps as before.
my $trims = sub { scalar(() = $d->log =~ /^debug trim: (?:dropped clean file pages|cannot read)/mg) };
ok(wait_until(sub { $trims->() >= 2 }, 10), 'the stragglers\' trim came after the crowd left')
    or diag($d->log);
my $status = $d->proc_status;
my $switches = $status->{voluntary_ctxt_switches};
ok($watch->quiet(2), 'two quiet seconds');
is($d->proc_status->{voluntary_ctxt_switches} - $switches, 0, 'not a wake-up in them');
is($trims->(), 2, 'and no further trim');
my $judged = memory_judged();
SKIP: {
	skip "memory figures are not the daemon's own here", 2 unless $judged;
	cmp_ok($status->{RssAnon} - $anon_fresh, '<', 512,
	    "the heap is given back ($anon_fresh kB fresh, $anon_peak kB with the crowd, $status->{RssAnon} kB after)");
	cmp_ok($status->{VmRSS}, '<=', 1536, "idle resident size within 1.5 MiB ($status->{VmRSS} kB)")
	    or diag(join(', ', map { "$_ $status->{$_} kB" } grep { defined $status->{$_} } qw(RssAnon RssFile RssShmem)));
}
is($d->stop, 0, 'daemon stops cleanly');

done_testing();
