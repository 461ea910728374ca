#!/usr/bin/perl
# Big replies (SPEC 2): a reply to a forward is relayed intact up to
# --max-reply (16 MiB by default) though requests stop at 1 MiB; a longer
# one fails that forward with "Reply too long", the target carries on, and
# memory returns to where it was.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use SupTest;

my $MiB = 1024 * 1024;
my $d = start_daemon();
my $w = $d->client;
my $wid = $w->call_final('register', state => { name => 'big' })->{connection_id};
my $c = $d->client;

my $memory_judged = memory_judged();

sub rss_kb { $d->proc_status->{VmRSS} }
sub peak_kb { $d->proc_status->{VmHWM} }

# Resets the peak resident size the kernel keeps (VmHWM); false where it cannot.
sub reset_peak {
	open(my $fh, '>', "/proc/" . $d->pid . "/clear_refs") or return 0;
	print $fh "5\n";
	return close($fh);
}

sub forward {
	my ($id) = @_;
	$c->send({ id => $id, do => 'forward', connection_id => $wid, operation => { do => 'thread_dump' } });
	return $w->recv->{id};
}

# A reply line of exactly $size bytes, newline not counted.
sub reply_of {
	my ($call_id, $size, %opt) = @_;
	my ($head, $tail) = $opt{id_last}
	    ? ('{"finished":true,"data":"', qq(","id":$call_id}))
	    : (qq({"id":$call_id,"finished":true,"data":"), '"}');
	return $head . ('x' x ($size - length($head) - length($tail))) . $tail;
}

# Settle, then the idle figure.
$c->call_final('status');
my $idle = rss_kb();
my $can_peak = reset_peak();

subtest 'a 16 MiB reply is relayed intact' => sub {
	my $call_id = forward(2);
	my $reply = reply_of($call_id, 16 * $MiB);
	$w->send_raw("$reply\n");
	my $line = $c->recv_line(30);
	ok(defined $line, 'the caller got it') or return;
	is(length($line), 16 * $MiB, 'every byte of it');
	(my $expect = $reply) =~ s/^\{"id":\d+/{"id":2/;
	ok($line eq $expect, 'byte for byte, under the caller\'s id');
	$c->call_final('status');
	my $peak = peak_kb();
	if ($can_peak && $memory_judged) {
		cmp_ok(($peak - $idle) / 1024, '<=', 2 * 16 + 2,
		    sprintf('peak memory while relaying: %.1f MiB over idle (at most about 2x the reply)', ($peak - $idle) / 1024));
	}
	ok(wait_until(sub { rss_kb() <= $idle + 1024 }, 5),
	    sprintf('memory back to idle after: %.2f MiB, idle %.2f MiB', rss_kb() / 1024, $idle / 1024))
	    if $memory_judged;
};

subtest 'a 17 MiB reply fails its forward; the target carries on' => sub {
	my $call_id = forward(4);
	$w->send_raw(reply_of($call_id, 17 * $MiB) . "\n");
	my $r = $c->recv(30);
	ok($r && $r->{failed} && $r->{finished}, 'the caller gets a failure') or return;
	is($r->{id}, 4, 'under its id');
	is($r->{error}, 'Reply too long', 'saying why');
	is($r->{size_limit}, 16 * $MiB, 'and the limit');
	is($r->{connection_id}, $wid, 'and the target');
	like($d->log, qr/reply too long: failing its forward/, 'logged');
	# The target is still registered and answers the next forward.
	$call_id = forward(6);
	$w->send_raw(qq({"id":$call_id,"finished":true,"ok":1}\n));
	is($c->recv_line(5), '{"id":6,"finished":true,"ok":1}', 'the target connection carries on');
	ok(wait_until(sub { rss_kb() <= $idle + 1024 }, 5),
	    sprintf('memory back to idle after: %.2f MiB, idle %.2f MiB', rss_kb() / 1024, $idle / 1024))
	    if $memory_judged;
};

subtest 'a too long reply whose id comes last fails the forwards waiting on it' => sub {
	my $first = forward(8);
	forward(10);
	$w->send_raw(reply_of($first, 17 * $MiB, id_last => 1) . "\n");
	my %failed;
	for (1 .. 2) {
		my $r = $c->recv(30) or last;
		$failed{ $r->{id} } = $r->{error};
	}
	is_deeply(\%failed, { 8 => 'Reply too long', 10 => 'Reply too long' },
	    'no caller waits on a reply that was thrown away');
	my $call_id = forward(12);
	$w->send_raw(qq({"id":$call_id,"finished":true}\n));
	is($c->recv_line(5), '{"id":12,"finished":true}', 'the target carries on');
};

subtest 'only replies may be longer than a request' => sub {
	my $big = '{"id":20,"do":"status","pad":"' . ('p' x (2 * $MiB)) . '"}';
	forward(14);	# the worker now owes a reply
	$w->send_raw("$big\n");
	my $r = $w->recv(10);
	ok($r && $r->{failed}, 'a long request from a target is still refused');
	is($r->{error}, 'Message too long', 'as too long');
};

subtest '--max-reply sets the limit' => sub {
	my $d2 = start_daemon(args => ['--max-message', '16K', '--max-reply', '64K']);
	my $w2 = $d2->client;
	my $id2 = $w2->call_final('register')->{connection_id};
	my $c2 = $d2->client;
	$c2->send({ id => 2, do => 'forward', connection_id => $id2, operation => { do => 'x' } });
	my $call_id = $w2->recv->{id};
	$w2->send_raw(reply_of($call_id, 63 * 1024) . "\n");
	is(length($c2->recv_line(5) // ''), 63 * 1024, 'a 63 KiB reply is relayed past a 16 KiB request limit');
	$c2->send({ id => 2, do => 'forward', connection_id => $id2, operation => { do => 'x' } });
	$call_id = $w2->recv->{id};
	$w2->send_raw(reply_of($call_id, 65 * 1024) . "\n");
	my $r = $c2->recv(5);
	is($r && $r->{size_limit}, 65536, 'a 65 KiB reply is past a 64 KiB limit');
	is($d2->stop, 0, 'SIGTERM: exit status 0');
};

is($d->stop, 0, 'SIGTERM: exit status 0');
done_testing();
