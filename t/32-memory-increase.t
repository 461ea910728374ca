#!/usr/bin/perl
# A process that grows past its largest seen size by more than
# threshold-size, increase-limit times, is signalled; a steady one is not.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use POSIX qw(SIGINT WNOHANG);
use Test::More;
use Time::HiRes qw(time sleep);
use SupTest;
use MonTest;

my $d = start_daemon(args => ['-M', 'memory:interval=0.5,threshold-size=10M,increase-limit=3']);
my $steady = hog(40);
my $grower = hog(10, step_mib => 16, step_seconds => 0.6, steps => 10);
my $watcher = $d->client;
my $steady_conn = register_pid($d, $steady);
my $grower_conn = register_pid($d, $grower);

my %counts;
wait_until(sub {
	my $s = memory_section($watcher) or return 0;
	my $entry = $s->{processes}{$grower} or return 0;
	$counts{$entry->{increase_count}} = 1;
	return $entry->{increase_count} >= 2;
}, 5);
ok($counts{1} && $counts{2}, 'status counts the increases one by one');
ok(killed_by($grower, SIGINT, 4), 'signalled once increase_count reaches increase-limit');
like($d->log, qr/^warn memory monitor: signalled process process_id=$grower signal=INT reason=increase-limit current_size=\d+ increase_count=3 increase_limit=3 threshold_size=10485760 /m,
    'logged at warn with the figures that caused it');
wait_ticks($d, 2);
ok(kill(0, $steady) && waitpid($steady, WNOHANG) == 0, 'a steady process is never signalled');
my $entry = memory_section($watcher)->{processes}{$steady};
is($entry->{increase_count}, 0, 'a steady process has no increases');
ok($entry->{sample_count} >= 4, 'and keeps being sampled');
is($d->stop, 0, 'daemon stops cleanly');

done_testing();
