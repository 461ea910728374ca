#!/usr/bin/perl
# Backpressure (SPEC 2, issue 9.2): a peer that pipelines 400,000 status
# requests while reading as fast as it can gets all 400,000 replies. The
# daemon stops reading from it while its output is above the high-water
# mark instead of dropping it.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use IO::Select;
use Test::More;
use Time::HiRes qw(time);
use SupTest;

my $CALLS = 400_000;
my $d = start_daemon(log_level => 'info');
my $w = $d->client;
$w->call_final('register', state => { name => 'one', pad => 'p' x 100 });
my $c = $d->client;
my $sock = $c->sock;
$sock->blocking(0);

my $request = qq({"id":2,"do":"status"}\n);
my $chunk = $request x 4096;
my ($sent, $answered, $pending_out, $tail) = (0, 0, '', '');
my $sel = IO::Select->new($sock);
my $deadline = time + 120 * ($ENV{SUPERVISORD_WRAPPER} ? 10 : 1);
while ($answered < $CALLS && time < $deadline) {
	if ($pending_out eq '' && $sent < $CALLS) {
		my $n = $CALLS - $sent < 4096 ? $CALLS - $sent : 4096;
		$pending_out = $n == 4096 ? $chunk : $request x $n;
		$sent += $n;
	}
	my ($readable, $writable) = IO::Select->select($sel, $pending_out ne '' ? $sel : undef, undef, 5);
	if ($writable && @$writable) {
		my $k = syswrite($sock, $pending_out);
		substr($pending_out, 0, $k, '') if $k;
	}
	if ($readable && @$readable) {
		my $k = sysread($sock, my $buf, 1 << 20);
		last if defined $k && $k == 0;
		$answered += ($buf =~ tr/\n//) if $k;
		$tail = substr($buf, -200) if $k;
	}
}
is($answered, $CALLS, "all $CALLS replies arrived ($answered)");
like($tail, qr/"connection_id":"[-0-9a-f]{36}"\},"registered_at":\d+\}\]\}\n\z/, 'whole status replies to the end');
unlike($d->log, qr/does not read its replies/, 'the reading peer was never dropped');
ok($c->call_final('status')->{finished}, 'still served');
is($d->stop, 0, 'SIGTERM: exit status 0');
done_testing();
