#!/usr/bin/perl
# Floods of stale replies (messages with an id that names no open call and
# no "do"): they are ignored without a word, however many arrive, while
# the daemon keeps serving everyone else, and the flooding connection
# itself still works afterwards. A worker flooding stale replies around a
# real one still gets its real reply through.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time);
use SupTest;

my $d = start_daemon(log_level => 'info');
my $c = $d->client;
$c->call_final('status');
my $rss_before = $d->proc_status->{VmRSS};

my $flooder = $d->client;
my $chunk = join('', map { qq({"id":$_,"finished":true,"result":"stale"}\n) } 1000 .. 1999);
my $t0 = time;
my ($slowest, $answered) = (0, 0);
for my $round (1 .. 100) {    # 100,000 stale replies, about 4 MB
	$flooder->send_raw($chunk);
	if ($round % 10 == 0) {
		my $t = time;
		$answered++ if $c->call_final('status')->{finished};
		$slowest = time - $t if time - $t > $slowest;
	}
}
is($answered, 10, 'others served during the flood');
cmp_ok($slowest, '<', 0.5 * ($ENV{SUPERVISORD_WRAPPER} ? 10 : 1),
    sprintf('promptly (slowest %.3f s)', $slowest));
my $r = $flooder->call_final('status');
ok($r && $r->{finished}, 'the flooding connection is served afterwards');
ok($flooder->quiet(0.3), 'and no stale reply was answered');

# A worker floods stale replies around the real one.
my $w = $d->client;
my $id = $w->call_final('register')->{connection_id};
$c->send({ id => 20, do => 'forward', connection_id => $id, operation => { do => 'x' } });
my $req = $w->recv;
my $real = $req->{id};
my $noise = join('', map { qq({"id":@{[$real + 2 * $_]},"finished":true}\n{"id":"s$_"}\n) } 1 .. 5000);
$w->send_raw($noise . qq({"id":$real,"answer":42,"finished":true}\n) . $noise);
my @replies = $c->collect(20);
is(scalar @replies, 1, 'the caller gets exactly one reply');
is($replies[0]{answer}, 42, 'the real one');
ok($c->quiet(0.3), 'and nothing else');
SKIP: {
	skip "memory figures are not the daemon's own here", 1 unless memory_judged();
	cmp_ok($d->proc_status->{VmRSS} - $rss_before, '<', 2048,
	    'memory did not grow with the flood (' . $d->proc_status->{VmRSS} . " kB, from $rss_before)");
}
is($d->stop, 0, 'clean exit');
done_testing();
