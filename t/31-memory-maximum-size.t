#!/usr/bin/perl
# A process whose resident size is over maximum-size-limit is signalled
# within two intervals (SIGINT by default, or the configured signal); a
# healthy one never is; one that ignores the signal is signalled again
# after 2 ticks, then 4, not every tick.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use POSIX qw(SIGINT SIGUSR1 WNOHANG);
use Test::More;
use Time::HiRes qw(time sleep);
use SupTest;
use MonTest;

my $d = start_daemon(args => ['-M', 'memory:interval=0.5,maximum-size-limit=40M']);
my $big = hog(60);
my $small = hog(5);
my $stubborn = hog(60, ignore => 'INT');
my $small_conn = register_pid($d, $small);
my $big_conn = register_pid($d, $big);
my $stubborn_conn = register_pid($d, $stubborn);
ok(killed_by($big, SIGINT, 1.2), 'over the limit: SIGINT within two intervals');
wait_ticks($d, 5);
ok(kill(0, $small) && waitpid($small, WNOHANG) == 0, 'a healthy process is never signalled');
is_deeply([grep { $_ != $stubborn } signalled_pids($d)], [$big],
    'one signal, to the process over the limit');

my ($tick, @signal_ticks) = (0);
for (split /\n/, $d->log) {
	# A round may end in a slice after its tick: count rounds, which end after their signals.
	$tick++ if /^debug memory monitor: round done /;
	push @signal_ticks, $tick if /signalled process process_id=$stubborn /;
}
my @gaps = map { $signal_ticks[$_] - $signal_ticks[$_ - 1] } 1 .. $#signal_ticks;
ok(@signal_ticks >= 2 && @signal_ticks <= 3, 'a process ignoring the signal is not signalled every tick')
    or diag("signalled at ticks @signal_ticks");
is($gaps[0], 2, 'signalled again after 2 ticks');
ok(@gaps < 2 || $gaps[1] == 4, 'then after 4') or diag("gaps @gaps");
like($d->log, qr/process_id=$stubborn .*signal_count=2$/m, 'the log counts the signals in a row');
like($d->log, qr/^warn memory monitor: signalled process process_id=$big signal=INT reason=maximum-size-limit current_size=(\d+) maximum_size_limit=41943040 /m,
    'logged at warn with the figures that caused it');
my ($size) = $d->log =~ /process_id=$big signal=INT .*current_size=(\d+)/;
ok($size > 60 * MIB, 'the logged size is what the process held');
is($d->stop, 0, 'daemon stops cleanly');

my $d2 = start_daemon(args => ['-M', 'memory:interval=0.5,maximum-size-limit=40M,signal=USR1']);
my $other = hog(60);
my $other_conn = register_pid($d2, $other);
ok(killed_by($other, SIGUSR1, 1.2), 'signal=USR1 is honoured');
like($d2->log, qr/process_id=$other signal=USR1 reason=maximum-size-limit/, 'and logged as USR1');
is($d2->stop, 0, 'daemon stops cleanly');

done_testing();
