#!/usr/bin/perl
# The memory monitor's status section has the reference's fields with
# plausible figures, and a pid named by two connections is followed once
# and dropped when the last of them closes.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(sleep);
use SupTest;
use MonTest;

my @process_fields = sort qw(process_id sample_count current_size current_shared_size
    current_private_size maximum_size maximum_size_limit threshold_size increase_count increase_limit);

{
	my $d = start_daemon(args => ['-M', 'memory']);
	my $pid = hog(1);
	my $conn = register_pid($d, $pid);
	my $s = memory_section($d->client);
	is_deeply([sort keys %$s], [sort qw(total_size total_size_limit free_size_minimum processes)],
	    'defaults: section fields');
	is_deeply([@$s{qw(total_size total_size_limit free_size_minimum)}], [undef, undef, undef],
	    'defaults: no limits and no total before the first tick are null');
	my $entry = $s->{processes}{$pid};
	is_deeply([sort keys %$entry], \@process_fields, 'defaults: process fields');
	is_deeply($entry, { process_id => $pid, sample_count => 0, current_size => undef, maximum_size => undef,
	    current_shared_size => undef, current_private_size => undef, maximum_size_limit => undef,
	    threshold_size => 10 * MIB, increase_count => 0, increase_limit => undef },
	    'defaults: unsampled figures and unset limits are null, threshold is 10M');
	is($d->stop, 0, 'daemon stops cleanly');
}

my $d = start_daemon(args => ['-M',
    'memory:interval=0.5,maximum-size-limit=500M,total-size-limit=1G,threshold-size=20M,increase-limit=5']);
my $pid = hog(50);
my $first = register_pid($d, $pid);
my $second = register_pid($d, $pid);
my $watcher = $d->client;
my $s;
wait_until(sub { $s = memory_section($watcher); $s->{processes}{$pid}{sample_count} >= 2 }, 3);
is_deeply([keys %{ $s->{processes} }], [$pid], 'two connections, one process followed');
my $entry = $s->{processes}{$pid};
is_deeply([sort keys %$entry], \@process_fields, 'process fields');
is($entry->{process_id}, $pid, 'process_id');
ok($entry->{current_size} >= 50 * MIB && $entry->{current_size} <= 66 * MIB,
    'current_size within a few MiB of the 50 MiB held') or diag("current_size $entry->{current_size}");
ok($entry->{current_private_size} >= 50 * MIB && $entry->{current_private_size} <= $entry->{current_size},
    'current_private_size holds the 50 MiB, and is part of the resident size');
ok($entry->{current_shared_size} > 0 && $entry->{current_shared_size} < 16 * MIB,
    'current_shared_size: the shared libraries');
ok($entry->{maximum_size} >= $entry->{current_size} - 20 * MIB && $entry->{maximum_size} >= 50 * MIB,
    'maximum_size: the largest size seen') or diag("maximum_size $entry->{maximum_size}");
is_deeply([@$entry{qw(maximum_size_limit threshold_size increase_count increase_limit)}],
    [500 * MIB, 20 * MIB, 0, 5], 'limits as configured, no increase');
is_deeply([@$s{qw(total_size_limit free_size_minimum)}], [1024 * MIB, undef], 'section limits');
is($s->{total_size}, $entry->{current_shared_size} + $entry->{current_private_size},
    'total_size: largest shared plus private');
is(scalar(log_lines($d, qr/following process process_id=$pid$/)), 1, 'followed once');

$first->close;
wait_ticks($d, 1);
$s = memory_section($watcher);
ok($s->{processes}{$pid} && $s->{processes}{$pid}{sample_count} >= 3,
    'still followed while one connection names it') or diag(SupTest::json()->encode($s));
$second->close;
ok(wait_until(sub { !exists memory_section($watcher)->{processes}{$pid} }, 2),
    'dropped once the last connection closes');
is(scalar(log_lines($d, qr/dropped process process_id=$pid$/)), 1, 'dropped once');
is($d->stop, 0, 'daemon stops cleanly');

done_testing();
