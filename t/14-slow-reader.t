#!/usr/bin/perl
# Wire protocol (SPEC 2): a peer that does not read its replies is no longer
# read from above the high-water mark, and dropped once pending output over
# --max-buffer does not drain; everyone else is unaffected.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Socket qw(SOL_SOCKET SO_RCVBUF);
use Test::More;
use Time::HiRes qw(time);
use SupTest;

my $d = start_daemon(args => ['--max-buffer', '256K']);

subtest 'a peer that pipelines and never reads is held, bounded, others served' => sub {
	my $deaf = $d->client;
	setsockopt($deaf->sock, SOL_SOCKET, SO_RCVBUF, 4096);
	$deaf->sock->blocking(0);
	my $other = $d->client;
	my $batch = qq({"id":2,"do":"status"}\n) x 1000;
	my ($slowest, $sent) = (0, 0);
	for my $round (1 .. 200) {
		# The deaf peer writes requests until the daemon stops taking them.
		my $n = syswrite($deaf->sock, $batch);
		$sent += $n if $n;
		my $t0 = time;
		my $r = $other->call_final('status');
		my $took = time - $t0;
		$slowest = $took if $took > $slowest;
		ok($r && $r->{finished}, 'other client answered') or last if $round == 1;
		last if !defined $n && $round > 20;
	}
	ok($sent > 0, "the deaf peer wrote $sent bytes, then the daemon stopped reading");
	like($d->log, qr/holding requests until the peer reads/, 'its requests are held (backpressure)');
	my $rss = $d->proc_status->{VmRSS};
	cmp_ok(memory_judged() ? $rss : 0, '<', 16 * 1024, "daemon memory stays bounded (${rss} kB)");
	cmp_ok($slowest, '<', 0.5, sprintf('other client answered promptly (slowest %.3f s)', $slowest));
	unlike($d->log, qr/does not read its replies/, 'a held peer whose output stays under the cap is not dropped');
	$deaf->close;
	ok($other->call_final('status')->{finished}, 'other client still served');
	ok($d->alive, 'daemon alive');
};

subtest 'a single reply larger than the cap reaches a peer that reads' => sub {
	# Make status big: register workers with large states.
	my @workers;
	for my $i (1 .. 6) {
		my $w = $d->client;
		my $r = $w->call_final('register', state => { blob => ('b' x 60000), n => $i });
		ok($r->{connection_id}, "worker $i registered") or return;
		push @workers, $w;
	}
	my $c = $d->client;
	$c->send_raw(qq({"id":2,"do":"status"}\n));
	my $line = $c->recv_line(5);
	ok(defined $line && length($line) > 256 * 1024, 'the whole status reply arrived (' . length($line // '') . ' bytes)');
	my $r = defined $line ? json()->decode($line) : {};
	is(scalar @{ $r->{connections} || [] }, 6, 'listing all six workers');
	$_->close for @workers;
};

subtest 'a peer that pipelines many requests and reads the replies is not dropped' => sub {
	my $c = $d->client;
	my @w;
	for (1 .. 3) {
		my $w = $d->client;
		$w->call_final('register', state => { pad => ('p' x 2000) });
		push @w, $w;
	}
	# Replies are about 7 KB each: 400 of them are eleven times the cap.
	my $n = 400;
	my $wrote = 0;
	my $got = 0;
	my $sel_w = IO::Select->new($c->sock);
	my $buf = join('', map { qq({"id":$_,"do":"status"}\n) } 1 .. $n);
	my $deadline = time + 10;
	while ($got < $n && time < $deadline) {
		if ($wrote < length $buf && $sel_w->can_write(0)) {
			my $k = syswrite($c->sock, $buf, length($buf) - $wrote, $wrote);
			$wrote += $k if $k;
		}
		my $line = $c->recv_line(0.01);
		$got++ if defined $line;
	}
	is($got, $n, 'all replies received');
	like($d->log, qr/holding requests until the peer reads/, 'its requests waited while its replies were read');
	$_->close for @w;
};

subtest 'a worker that does not read what is forwarded to it is dropped' => sub {
	my $w = $d->client;
	setsockopt($w->sock, SOL_SOCKET, SO_RCVBUF, 4096);
	my $wid = $w->call_final('register')->{connection_id};
	my $c = $d->client;
	my $payload = 'f' x 10000;
	my $sent = 0;
	my $drops = () = $d->log =~ /does not read its replies/g;
	while ($sent < 200) {
		$c->send({ id => 2 * $sent, do => 'forward', connection_id => $wid, operation => { do => 'x', p => $payload } });
		$sent++;
		last if (() = $d->log =~ /does not read its replies/g) > $drops;
	}
	ok(wait_until(sub { (() = $d->log =~ /does not read its replies/g) > $drops }, 2), 'the worker was dropped');
	my %failed;
	while (my $r = $c->recv(1)) {
		$failed{ $r->{error} }++ if $r->{failed};
		last if $failed{'Connection closed'} && $failed{'Connection closed'} + ($failed{'Connection not found'} // 0) == $sent;
	}
	ok($failed{'Connection closed'}, "its callers got \"Connection closed\" ($failed{'Connection closed'} of $sent)");
	ok($c->call_final('status')->{finished}, 'the caller is fine');
};

is($d->stop, 0, 'SIGTERM: exit status 0');
done_testing();
