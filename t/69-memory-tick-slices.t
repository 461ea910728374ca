#!/usr/bin/perl
# A memory monitor tick over 1,000 processes does not hold the loop
# (SPEC 5): the sampling is spread in slices across the interval, no
# slice spends more than about 5 ms, the round's decisions run once it is
# complete, and other calls are answered between slices.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time sleep);
use SupTest;
use MonTest;

my $N = 1000;
my $d = start_daemon(args => ['-M', 'memory:interval=1']);

# One process that forks the sleepers and registers each (its children)
# on a connection of its own, as many wrappers would.
my $ready = $d->dir . '/registered';
my $REGISTRAR = <<'PERL';
use IO::Socket::UNIX;
my ($socket, $n, $ready) = @ARGV;
my @kids;
$SIG{TERM} = sub { kill 'KILL', @kids; waitpid($_, 0) for @kids; exit 0 };
for (1 .. $n) {
	my $pid = fork // die "fork: $!";
	if ($pid == 0) { exec('sleep', '300'); exit 127 }
	push @kids, $pid;
}
my @conns;
for my $pid (@kids) {
	my $c = IO::Socket::UNIX->new(Peer => $socket) or die "connect: $!";
	$c->autoflush(1);
	print $c qq({"id":2,"do":"register","state":{"process_id":$pid}}\n);
	push @conns, $c;
}
for my $c (@conns) { <$c> =~ /connection_id/ or die "register failed" }
open(my $f, '>', $ready) or die; close $f;
sleep 1 while 1;
PERL
my $registrar = spawn(['sh', '-c', 'ulimit -n $(ulimit -Hn); exec perl -e "$0" "$@"', $REGISTRAR,
    $d->socket, $N, $ready]);
ok(wait_until(sub { -e $ready }, 60), "$N processes registered") or BAIL_OUT('registration failed');

# Two whole rounds after registration.
my $start = () = log_lines($d, qr/^debug memory monitor: round done processes=$N /);
ok(wait_until(sub { (() = log_lines($d, qr/^debug memory monitor: round done processes=$N /)) >= $start + 2 }, 20),
    'two rounds over every process');

# Meanwhile a cheap call never waits long for the loop.
my $c = $d->client;
my @rtt;
my $until = time + 2.2;
while (time < $until) {
	my $t0 = time;
	$c->send_raw(qq({"id":4,"do":"nothing"}\n));
	my $r = $c->recv;
	push @rtt, (time - $t0) * 1000 if $r && $r->{failed};
	sleep 0.005;
}
my @rounds = map { /slices=(\d+) .*longest_slice_us=(\d+)/ ? [$1, $2] : () }
    log_lines($d, qr/^debug memory monitor: round done processes=$N /);
ok(@rounds >= 2, 'rounds logged') or diag($d->log);
ok(!grep({ $_->[0] < 5 } @rounds), 'each round is spread over several slices')
    or diag(join ' ', map { "slices=$_->[0]" } @rounds);
my @holds = sort { $a <=> $b } map { /duration_us=(\d+)/ ? $1 : () }
    log_lines($d, qr/^debug monitor (?:tick|slice) name=memory /);
my $median = $holds[$#holds / 2] / 1000;
ok($median <= 5, 'the loop is held about 5 ms at most by a tick or slice')
    or diag("median ${median} ms");
diag(sprintf('%d ticks and slices: median %.2f ms, longest %.2f ms; cheap call round trip: %d calls, longest %.2f ms',
    scalar @holds, $median, $holds[-1] / 1000, scalar @rtt, (sort { $a <=> $b } @rtt)[-1] // 0));
my $section = memory_section($d->client);
is(scalar(grep { $_->{sample_count} >= 2 } values %{ $section->{processes} }), $N,
    'every process sampled in each round');
ok(defined $section->{total_size}, 'the total is decided once a round is complete');

# Every connection closes at once, while rounds go on: each process is dropped.
kill 'TERM', $registrar;
reap_pid($registrar, 10);
ok(wait_until(sub { !%{ memory_section($d->client)->{processes} } }, 10),
    'processes removed mid-round are dropped, the rest sampled on');
ok(wait_until(sub { (() = log_lines($d, qr/^debug memory monitor: round done processes=0 /)) >= 1 }, 5),
    'and the rounds carry on');
is($d->stop, 0, 'daemon stops cleanly');
done_testing();
