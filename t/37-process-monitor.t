#!/usr/bin/perl
# The process monitor reports the tree under the daemon's parent (here, this
# test) with plausible figures, and logs one line per process per tick.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep);
use SupTest;
use MonTest;

my @metric_fields = sort qw(process_id parent_process_id process_group_id processor_utilization total_size memory
    virtual_size resident_size processor_time elapsed_time command);

my $d = start_daemon(args => ['-M', 'process:interval=0.5']);
my $sleeper = spawn(['sleep', '30']);
my $busy = spawn(['perl', '-e', '1 while 1']);
my $shell = spawn(['sh', '-c', 'sleep 31 & wait'], stdout => '/dev/null');
# The busy loop has run for a while (however loaded the machine), then two whole ticks pass.
sub cpu_seconds {
	my @f = split ' ', (slurp("/proc/$_[0]/stat") =~ s/^.*\)\s+//sr);
	return @f > 12 ? ($f[11] + $f[12]) / POSIX::sysconf(POSIX::_SC_CLK_TCK()) : 0;
}
ok(wait_until(sub { cpu_seconds($busy) >= 0.4 }, 30), 'the busy loop has used 0.4 s of CPU');
wait_ticks($d, 3, 'process');

my $s = process_section($d->client);
is($s->{ppid}, $$, "ppid defaults to the daemon's parent");
my $m = $s->{metrics};
my ($grandchild) = grep { $m->{$_}{parent_process_id} == $shell } keys %$m;
ok($grandchild, 'descendants of descendants are listed');
is_deeply([sort { $a <=> $b } keys %$m], [sort { $a <=> $b } $d->pid, $sleeper, $busy, $shell, $grandchild // ()],
    'the whole tree under ppid, and nothing else');
is_deeply([sort keys %{ $m->{$sleeper} }], \@metric_fields, 'metric fields');
is($m->{$sleeper}{process_id}, $sleeper, 'process_id');
is($m->{$sleeper}{parent_process_id}, $$, 'parent_process_id');
is($m->{$sleeper}{process_group_id}, getpgrp(), 'process_group_id');
is($m->{$sleeper}{command}, 'sleep 30', 'command');
like($m->{$grandchild}{command} // '', qr/^sleep 31$/, 'command of the grandchild');
my $own = $m->{$d->pid};
ok($own->{resident_size} > 100 * 1024 && $own->{virtual_size} >= $own->{resident_size},
    'sizes in bytes: resident above 100K, virtual at least resident');
ok($own->{elapsed_time} > 0.5 && $own->{elapsed_time} < 60, 'elapsed_time in seconds')
    or diag("elapsed_time $own->{elapsed_time}");
# Its share of a CPU depends on what else runs on the machine; a sleeper's is next to none.
ok($m->{$busy}{processor_utilization} > 5, 'a busy loop shows CPU use over the interval')
    or diag("processor_utilization $m->{$busy}{processor_utilization}");
ok($m->{$busy}{processor_time} > 0.3, 'and has CPU time to show for it');
ok($m->{$sleeper}{processor_utilization} < 5, 'a sleeper uses next to none');

# Lines between two tick markers belong to one tick.
my (@ticks, @current);
for (split /\n/, $d->log) {
	if (/^info process metrics pid=(\d+) ppid=\d+ pgid=\d+ cpu_percent=[\d.]+ virtual_size=\d+ resident_size=\d+ cpu_time=[\d.]+ elapsed_time=[\d.]+ command=/) {
		push @current, $1;
	} elsif (/^debug monitor tick name=process /) {
		push @ticks, [@current];
		@current = ();
	}
}
ok(@ticks >= 2, 'ticks logged');
my $last = $ticks[-1];
my %count;
$count{$_}++ for @$last;
is(scalar(grep { $_ != 1 } values %count), 0, 'one line per process in a tick');
ok($count{$sleeper} && $count{$busy} && $count{$shell} && $count{$d->pid}, 'every process logged');
is($d->stop, 0, 'daemon stops cleanly');

my $d2 = start_daemon(args => ['-M', "process:interval=0.5,ppid=$shell"]);
wait_ticks($d2, 1, 'process');
is_deeply([keys %{ process_section($d2->client)->{metrics} }], [$grandchild], 'ppid=PID: only its tree');
is($d2->stop, 0, 'daemon stops cleanly');
kill 'TERM', $grandchild if $grandchild;	# not our child: the harness would not stop it

done_testing();
