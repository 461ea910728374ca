#!/usr/bin/perl
# Wire protocol (SPEC 2): lines over --max-message are answered "Message too
# long" and skipped; memory per connection stays bounded whatever arrives.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use SupTest;

my $d = start_daemon(args => ['--max-message', '64K']);

subtest 'a line over the limit, in one write' => sub {
	my $c = $d->client;
	$c->send_raw(qq({"id":2,"do":"status","pad":") . ('x' x 70000) . qq("}\n{"id":4,"do":"status"}\n));
	my $r = $c->recv;
	ok($r->{failed} && $r->{finished}, 'a failure');
	is($r->{error}, 'Message too long', 'error says so');
	ok(!exists $r->{id}, 'no id: the line was not read');
	is($c->recv->{id}, 4, 'the next line is served');
	ok($c->quiet(0.1), 'exactly one failure for the long line');
};

subtest 'a line over the limit, a little at a time' => sub {
	my $c = $d->client;
	$c->send_raw('{"id":2,"pad":"');
	for (1 .. 20) {
		$c->send_raw('y' x 8000);
		$c->wait_consumed;
	}
	$c->send_raw(qq("}\n));
	$c->send_raw(qq({"id":6,"do":"status"}\n));
	is($c->recv->{error}, 'Message too long', 'one failure');
	is($c->recv->{id}, 6, 'the next line is served');
	ok($c->quiet(0.1), 'exactly one failure for the long line');
};

subtest 'a line just under the limit is served' => sub {
	my $c = $d->client;
	my $head = qq({"id":8,"do":"status","pad":");
	my $line = $head . ('z' x (64 * 1024 - length($head) - 2)) . '"}';
	is(length($line), 64 * 1024, 'line is exactly 64 KiB');
	$c->send_raw("$line\r\n");
	my $r = $c->recv;
	is($r->{id}, 8, 'served');
	ok(!$r->{failed}, 'not a failure');
};

subtest 'a 50 MiB stream without a newline does not grow memory' => sub {
	my $c = $d->client;
	my $before = $d->proc_status->{VmRSS};
	my $chunk = 'a' x (1024 * 1024);
	$c->send_raw($chunk) for 1 .. 50;
	$c->send_raw("\n");
	is($c->recv(10)->{error}, 'Message too long', 'one failure once the line ends');
	my $after = $d->proc_status->{VmRSS};
	cmp_ok(memory_judged() ? $after - $before : 0, '<', 2048, "resident size grew by less than 2 MiB ($before kB -> $after kB)");
	ok($c->call_final('status')->{finished}, 'connection carries on');
};

$d->stop;
is($d->stop, 0, 'SIGTERM: exit status 0');

subtest 'default limit is 1 MiB' => sub {
	my $d2 = start_daemon();
	my $c = $d2->client;
	$c->send_raw(qq({"id":2,"do":"status","p":") . ('q' x (1024 * 1024 - 40)) . qq("}\n));
	is($c->recv->{id}, 2, 'a line just under 1 MiB is served');
	$c->send_raw(qq({"id":4,"do":"status","p":") . ('q' x (1024 * 1024 + 10)) . qq("}\n));
	is($c->recv->{error}, 'Message too long', 'a line over 1 MiB is refused');
	is($d2->stop, 0, 'exit status 0');
};
done_testing();
