#!/usr/bin/perl
# A process whose resident size is over maximum-size-limit is signalled
# within two intervals (SIGINT by default, or the configured signal); a
# healthy one never is.
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
my $small_conn = register_pid($d, $small);
my $big_conn = register_pid($d, $big);
ok(killed_by($big, SIGINT, 1.2), 'over the limit: SIGINT within two intervals');
sleep 1.5;
ok(kill(0, $small) && waitpid($small, WNOHANG) == 0, 'a healthy process is never signalled');
is_deeply([signalled_pids($d)], [$big], 'one signal, to the process over the limit');
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
