#!/usr/bin/perl
# A process that exits between ticks, or whose pid a stranger takes over,
# is logged once and never signalled, and the monitor carries on.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use POSIX qw(SIGINT WNOHANG);
use Test::More;
use Time::HiRes qw(sleep);
use SupTest;
use MonTest;

my $d = start_daemon(args => ['-M', 'memory:interval=0.5,maximum-size-limit=30M']);
my $watcher = $d->client;

# Exits and is reaped between ticks.
my $gone = hog(5);
my $gone_conn = register_pid($d, $gone);
wait_ticks($d, 1);
kill 'TERM', $gone;
SupTest::reap_pid($gone);
# Exits but is not reaped: a zombie has no memory to sample.
my $zombie = hog(5);
my $zombie_conn = register_pid($d, $zombie);
wait_ticks($d, 1);
kill 'TERM', $zombie;
wait_ticks($d, 3);
my @lines = log_lines($d, qr/process_id=($gone|$zombie)\b/);
is(scalar(grep { /process gone/ } @lines), 2, 'each vanished process is logged once')
    or diag(join("\n", @lines));
is(scalar(grep { /^(warn|error)/ } @lines), 0, 'with no warning or error');
is(scalar(signalled_pids($d)), 0, 'and nobody is signalled');
my $s = memory_section($watcher);
ok($s->{processes}{$gone}, 'a vanished process stays listed while its connection is open');
SupTest::reap_pid($zombie);

# The monitor carries on: a new process over the limit is still caught.
my $big = hog(40);
my $big_conn = register_pid($d, $big);
ok(killed_by($big, SIGINT, 1.2), 'the monitor carries on');
$d->stop;

SKIP: {
	my $last_pid = '/proc/sys/kernel/ns_last_pid';
	skip "reusing a pid needs a writable $last_pid", 5 unless -w $last_pid;
	my $d = start_daemon(args => ['-M', 'memory:interval=0.5,maximum-size-limit=30M']);
	my ($victim, $stranger, $conn);
	for (1 .. 5) {
		$victim = hog(1);
		$conn = register_pid($d, $victim);
		wait_ticks($d, 1);	# sampled at least once, and a tick just passed
		kill 'KILL', $victim;
		SupTest::reap_pid($victim);
		# The next fork takes the pid after the one written.
		open(my $fh, '>', $last_pid) or last;
		print $fh $victim - 1;
		close $fh;
		$stranger = hog(40);
		last if $stranger == $victim;
		kill 'KILL', $stranger;
		SupTest::reap_pid($stranger);
		$conn->close;
		$stranger = undef;
	}
	skip 'could not make a stranger reuse the pid', 5 unless defined $stranger;
	wait_ticks($d, 3);
	ok(kill(0, $stranger) && waitpid($stranger, WNOHANG) == 0,
	    'a stranger holding a followed pid is never signalled, though over the limit');
	my @reused = log_lines($d, qr/process id now names another process; .* process_id=$stranger /);
	is(scalar @reused, 1, 'the reuse is logged once');
	like($reused[0] // '', qr/^warn .*registered_start_ticks=\d+ found_start_ticks=\d+/,
	    'at warn, with both start times');
	is(scalar(signalled_pids($d)), 0, 'nothing signalled');
	# Registered in its own right, the new process is followed afresh.
	my $own = register_pid($d, $stranger);
	ok(killed_by($stranger, SIGINT, 1.2), 'registered itself, the new process is followed and signalled');
	$d->stop;
}

done_testing();
