#!/usr/bin/perl
# A monitor reports each action it takes to the daemon, with the figures
# that decided it: the memory monitor's signal reaches the daemon's
# action handler (logged at debug) as monitor, action, reason, pid,
# signal and an object of the figures.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use POSIX qw(SIGINT);
use Test::More;
use SupTest;
use MonTest;

my $d = start_daemon(args => ['-M', 'memory:interval=0.5,maximum-size-limit=40M']);
my $big = hog(60);
my $conn = register_pid($d, $big);
ok(killed_by($big, SIGINT, 5), 'over the limit: signalled');
ok(SupTest::wait_until(sub { $d->log =~ /^debug monitor action /m }, 5), 'the action reached the daemon');
like($d->log, qr/^debug monitor action monitor=memory action=signal reason=maximum-size-limit process_id=$big signal=INT figures=\{"current_size":\d+,"maximum_size_limit":41943040\}$/m,
    'with the monitor, action, reason, pid, signal and figures');
is($d->stop, 0, 'daemon stops cleanly');

done_testing();
