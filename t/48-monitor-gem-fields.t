#!/usr/bin/perl
# The monitors' status fields the reference gem reads (SPEC 5): the memory
# monitor's maximum_size (the largest size seen) and the process monitor's
# total_size and memory breakdown from smaps_rollup, sizes in bytes.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use SupTest;
use MonTest;

my @memory_fields = sort qw(map_count resident_size proportional_size shared_clean_size
    shared_dirty_size private_clean_size private_dirty_size referenced_size anonymous_size
    swap_size proportional_swap_size minor_faults major_faults);

subtest 'process_monitor: total_size and memory from smaps_rollup' => sub {
	my $d = start_daemon(args => ['-M', 'process:interval=0.5']);
	my $hog = hog(24);
	my $m;
	ok(wait_until(sub { $m = process_section($d->client)->{metrics}{$hog}; $m && $m->{memory}
	    && $m->{memory}{resident_size} > 24 * MIB }, 10), 'the process is measured') or return;
	my $mem = $m->{memory};
	is_deeply([sort keys %$mem], \@memory_fields, 'the memory fields, named as the reference names them');
	ok(!grep({ !defined $mem->{$_} || $mem->{$_} !~ /^\d+$/ } @memory_fields), 'each a whole number');
	ok($mem->{anonymous_size} > 23 * MIB && $mem->{private_dirty_size} > 23 * MIB,
	    'anonymous and private dirty: what it wrote, in bytes');
	ok($mem->{proportional_size} > 23 * MIB && $mem->{proportional_size} <= $mem->{resident_size},
	    'proportional size up to the resident size');
	ok($mem->{referenced_size} > 0 && $mem->{referenced_size} <= $mem->{resident_size}, 'referenced size');
	my $maps = slurp("/proc/$hog/maps") =~ tr/\n//;
	ok(abs($mem->{map_count} - $maps) <= 2, 'map_count: the lines of /proc/PID/maps')
	    or diag("map_count $mem->{map_count}, maps $maps");
	ok($mem->{minor_faults} >= 24 * MIB / 4096 / 2, 'minor faults: at least one per two pages written');
	ok(defined $mem->{major_faults}, 'major faults');
	is($m->{total_size}, $mem->{proportional_size}, 'total_size is the proportional size');
	is($d->stop, 0, 'daemon stops cleanly');
};

subtest 'memory_monitor: maximum_size is the largest size seen' => sub {
	my $d = start_daemon(args => ['-M', 'memory:interval=0.5,threshold-size=5M']);
	my $hog = hog(8, step_mib => 12, step_seconds => 1.2, steps => 1);
	my $conn = register_pid($d, $hog);
	my $p;
	ok(wait_until(sub { $p = memory_section($d->client)->{processes}{$hog}; $p->{sample_count} >= 1 }, 5),
	    'sampled') or return;
	ok(exists $p->{maximum_size}, 'maximum_size is listed');
	ok($p->{maximum_size} >= 8 * MIB, 'the first sample sets it') or diag("maximum_size $p->{maximum_size}");
	ok(wait_until(sub { $p = memory_section($d->client)->{processes}{$hog}; $p->{increase_count} >= 1 }, 10),
	    'it grew past the threshold');
	ok($p->{maximum_size} >= 20 * MIB && $p->{maximum_size} == $p->{current_size},
	    'the larger size becomes the maximum') or diag("maximum_size $p->{maximum_size} current_size $p->{current_size}");
	is($d->stop, 0, 'daemon stops cleanly');
};

done_testing();
