#!/usr/bin/perl
# With no monitor the daemon sleeps in poll() with no timeout: zero wake-ups
# while idle. With one, it wakes once per tick, on wall-clock multiples.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(sleep);
use SupTest;
use MonTest;

sub wakeups_over {
	my ($daemon, $seconds) = @_;
	my $before = $daemon->proc_status->{voluntary_ctxt_switches};
	sleep $seconds;
	return $daemon->proc_status->{voluntary_ctxt_switches} - $before;
}

# Settled: asleep in poll(), its wake-up count no longer moving.
sub settled {
	my ($daemon) = @_;
	my $last = -1;
	return wait_until(sub {
		my $now = $daemon->proc_status->{voluntary_ctxt_switches} // -2;
		my $asleep = SupTest::slurp('/proc/' . $daemon->pid . '/stat') =~ /\)\s+S\s/;
		my $still = $now == $last;
		$last = $now;
		return $asleep && $still;
	}, 5);
}

my $idle = start_daemon();
settled($idle);
is(wakeups_over($idle, 2), 0, 'no monitors: zero wake-ups in 2 s of idle');
is($idle->stop, 0, 'stops cleanly');

my $ticking = start_daemon(args => ['-M', 'memory:interval=0.5']);
wait_ticks($ticking, 1);
my $wakeups = wakeups_over($ticking, 1.5);
ok($wakeups >= 2 && $wakeups <= 5, "memory at 0.5 s: one wake-up per tick ($wakeups in 1.5 s)");
is($ticking->stop, 0, 'stops cleanly');

my @at = map { /at=(\d+)\.(\d{3})/ ? $1 * 1000 + $2 : () }
    log_lines($ticking, qr/^debug monitor tick name=memory /);
ok(@at >= 3, 'ticks logged with their wall time');
my @off = grep { my $r = $_ % 500; $r > 100 && $r < 490 } @at;
is(scalar @off, 0, 'every tick lands within 100 ms of a wall-clock multiple of 0.5 s')
    or diag("tick times (ms): @at");
my @gaps = map { $at[$_] - $at[$_ - 1] } 1 .. $#at;
is(scalar(grep { $_ < 400 || $_ > 600 } @gaps), 0, 'ticks 0.5 s apart') or diag("gaps: @gaps");

done_testing();
