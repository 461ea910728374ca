#!/usr/bin/perl
# Many peers, each caller and worker at once, do random sequences: register,
# status, forwards to peers that answer at once, stream, answer late, never
# answer or vanish; bad lines, id-less requests, stale replies, lines split
# across writes. Every request with an id gets exactly one final reply, on
# the connection that made it, and nothing after (t/randproto checks each
# line); afterwards the daemon's fds are back where they were and a second
# round does not grow its memory.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use SupTest;

my $driver = "$FindBin::Bin/randproto";
plan skip_all => "t/randproto not built (make t/randproto)" unless -x $driver;

my $d = start_daemon(log_level => 'info');
my $c = $d->client;
$c->call_final('status');
my $fds_before = $d->fd_count;
my $mem_before = $d->proc_status;
my $plain = memory_judged();
my $seconds = $ENV{RANDPROTO_SECONDS} // 4;

sub round {
	my ($seed) = @_;
	my $out = `$driver @{[ $d->socket ]} 100 $seconds $seed`;
	my $status = $? >> 8;
	my %f = $out =~ /(\w+)=(\d+)/g;
	note($out);
	is($status, 0, "seed $seed: every check held") or diag($out);
	is($f{missing}, 0, "seed $seed: no request left without its final reply");
	is($f{unexpected}, 0, "seed $seed: no reply to the wrong peer, twice, or unasked");
	cmp_ok($f{requests} // 0, '>', 1000, "seed $seed: thousands of requests ($f{requests})");
	ok($f{forward_ok} && $f{intermediates} && $f{timed_out} && $f{conn_closed} && $f{bad_lines}
	    && $f{idless} && $f{stale} && $f{vanished},
	    "seed $seed: answered, streamed, timed out, closed, bad, id-less, stale and vanished all happened")
	    or diag($out);
	ok(wait_until(sub { $d->fd_count == $fds_before }, 10),
	    "seed $seed: fd count back to $fds_before") or diag('fds: ' . $d->fd_count);
	$c->call_final('status');
	return $d->proc_status;
}

my $first = round(11);
my $second = round(12);
ok($d->alive, 'daemon survived');
SKIP: {
	skip "memory figures are not the daemon's own here", 2 unless $plain;
	cmp_ok($first->{RssAnon} - $mem_before->{RssAnon}, '<=', 2048,
	    "anonymous memory back near its start ($mem_before->{RssAnon} -> $first->{RssAnon} kB)");
	cmp_ok($second->{RssAnon} - $first->{RssAnon}, '<=', 512,
	    "a second round does not grow it ($first->{RssAnon} -> $second->{RssAnon} kB anonymous)");
}
$c->close;
is($d->stop, 0, 'clean exit');
done_testing();
