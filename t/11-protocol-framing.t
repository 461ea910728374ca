#!/usr/bin/perl
# Wire protocol (SPEC 2): how input is cut into lines.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Socket qw(SHUT_WR);
use Test::More;
use SupTest;

my $d = start_daemon();

subtest 'blank lines are ignored, CRLF is accepted' => sub {
	my $c = $d->client;
	$c->send_raw("\n\r\n   \n\t\r\n" . qq({"id":2,"do":"status"}\r\n) . "\n\n");
	my $r = $c->recv;
	is($r->{id}, 2, 'CRLF line served');
	ok($c->quiet(0.1), 'blank lines get no reply');
	$c->send_raw(qq({"id":4,"do":"status"}  \t\r\n));
	is($c->recv->{id}, 4, 'trailing whitespace before CRLF is fine');
};

subtest 'a request written one byte at a time' => sub {
	my $c = $d->client;
	for my $byte (split //, qq({"id":6,"do":"status"}\r\n)) {
		$c->send_raw($byte);
		$c->wait_consumed;    # the daemon reads each byte on its own
	}
	my $r = $c->recv;
	is($r->{id}, 6, 'served once the newline arrives');
	ok($r->{finished}, 'finished');
};

subtest 'many pipelined requests in one write' => sub {
	my $c = $d->client;
	my $n = 2000;
	$c->send_raw(join('', map { qq({"id":$_,"do":"status"}\n) } 1 .. $n));
	my @got;
	while (@got < $n) {
		my $r = $c->recv(5) or last;
		push @got, $r->{id};
	}
	is(scalar @got, $n, "all $n answered");
	is_deeply(\@got, [1 .. $n], 'answered in order');
};

subtest 'requests split across writes at every position' => sub {
	my $c = $d->client;
	my $two = qq({"id":8,"do":"status"}\n{"id":10,"do":"status"}\n);
	for my $cut (1 .. length($two) - 1) {
		$c->send_raw(substr($two, 0, $cut));
		$c->wait_consumed;
		$c->send_raw(substr($two, $cut));
		my @ids = map { ($c->recv // {})->{id} // 'none' } 1 .. 2;
		is_deeply(\@ids, [8, 10], "cut at $cut") or last;
	}
};

subtest 'a partial line and then close' => sub {
	my $c = $d->client;
	$c->send_raw(qq({"id":12,"do":"sta));
	$c->close;
	my $other = $d->client;
	ok($other->call_final('status')->{finished}, 'daemon still serves');
	ok(wait_until(sub { $d->log =~ /peer left mid-line/ }, 2), 'discarded partial line logged');
};

subtest 'replies still arrive after the peer shuts down its writing side' => sub {
	my $c = $d->client;
	# As socat does on end of input: send, shut down writing, read until EOF.
	$c->send_raw(join('', map { qq({"id":$_,"do":"status"}\n) } 1 .. 20000));
	shutdown($c->sock, SHUT_WR);
	my $count = 0;
	while (my $r = $c->recv(5)) {
		$count++;
	}
	is($count, 20000, 'every reply delivered before the daemon closes');
	ok($c->eof(2), 'then the daemon closes the connection');
};

is($d->stop, 0, 'SIGTERM: exit status 0');
done_testing();
