#!/usr/bin/perl
# While the total (largest shared + every private) is over total-size-limit,
# the largest private process is signalled first, and no more are signalled
# once the total is under the limit.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use POSIX qw(SIGINT WNOHANG);
use Test::More;
use Time::HiRes qw(sleep);
use SupTest;
use MonTest;

sub alive { my ($pid) = @_; kill(0, $pid) && waitpid($pid, WNOHANG) == 0 }

# About 2 MiB shared and 3 MiB private for perl itself, plus what each holds.
my %size = (small => 20, middle => 40, large => 60);

sub run_case {
	my ($limit) = @_;
	my $d = start_daemon(args => ['-M', "memory:interval=0.5,total-size-limit=$limit"]);
	my %pid = map { $_ => hog($size{$_}) } qw(small middle large);
	wait_ticks($d, 1);	# all three registered within one tick
	my @conns = map { register_pid($d, $pid{$_}) } qw(small middle large);
	return ($d, \%pid, \@conns);
}

{
	# Total about 135 MiB: signalling the large one alone brings it to about 70.
	my ($d, $pid, $conns) = run_case('100M');
	ok(killed_by($pid->{large}, SIGINT, 1.5), '100M: the largest private process is signalled');
	wait_ticks($d, 2);
	ok(alive($pid->{middle}) && alive($pid->{small}), '100M: no more once under the limit');
	is_deeply([signalled_pids($d)], [$pid->{large}], '100M: exactly one signal');
	like($d->log, qr/^warn memory monitor: signalled process process_id=$pid->{large} signal=INT reason=total-size-limit current_private_size=\d+ total_size=\d+ total_size_limit=104857600 excess=\d+ /m,
	    'logged at warn with the figures that caused it');
	my $s = memory_section($d->client);
	ok($s->{total_size} > 60 * MIB && $s->{total_size} < 100 * MIB, 'status: total now under the limit')
	    or diag("total_size $s->{total_size}");
	is($s->{total_size_limit}, 100 * MIB, 'status: total_size_limit');
	is($d->stop, 0, 'daemon stops cleanly');
}

{
	# Total about 135 MiB against 40M: the large and the middle must both go.
	my ($d, $pid, $conns) = run_case('40M');
	ok(killed_by($pid->{large}, SIGINT, 1.5), '40M: the largest is signalled');
	ok(killed_by($pid->{middle}, SIGINT, 1), '40M: then the next largest, in the same tick');
	wait_ticks($d, 2);
	ok(alive($pid->{small}), '40M: the smallest is spared: the rest fit');
	is_deeply([signalled_pids($d)], [$pid->{large}, $pid->{middle}], '40M: largest first');
	is($d->stop, 0, 'daemon stops cleanly');
}

done_testing();
