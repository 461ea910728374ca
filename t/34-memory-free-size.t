#!/usr/bin/perl
# While free memory (cgroup, else MemAvailable) is under free-size-minimum,
# the largest private processes are signalled first.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use POSIX qw(SIGINT);
use Test::More;
use SupTest;
use MonTest;

# No machine has this much free: every process must go, largest first.
my $d = start_daemon(args => ['-M', 'memory:interval=1,free-size-minimum=1000000G']);
like($d->log, qr/^info memory monitor: free memory free_size=\d+ source=(cgroup2|cgroup1|meminfo)$/m,
    'the free memory figure and its source are logged at start');
my @pids = map { hog($_) } (20, 60, 5, 40);
wait_ticks($d, 1);	# all four registered within one tick
my @conns = map { register_pid($d, $_) } @pids;
for my $pid (@pids) {
	ok(killed_by($pid, SIGINT, 2.5), "process $pid signalled");
}
is_deeply([signalled_pids($d)], [@pids[1, 3, 0, 2]], 'largest private first');
like($d->log, qr/^warn memory monitor: signalled process process_id=$pids[1] signal=INT reason=free-size-minimum current_private_size=\d+ free_size=\d+ free_size_minimum=1073741824000000 source=\w+ excess=\d+ /m,
    'logged at warn with the figures that caused it');
cmp_ok(memory_section($d->client)->{free_size_minimum}, '==', 1073741824000000, 'status: free_size_minimum');
is($d->stop, 0, 'daemon stops cleanly');

done_testing();
