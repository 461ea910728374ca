#!/usr/bin/perl
# A daemon that may not read a process's smaps nor signal it (here: the
# daemon runs as nobody, the process as root) falls back to statm for the
# figures, and says once that it cannot signal, instead of every tick.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use POSIX qw(WNOHANG);
use Test::More;
use Time::HiRes qw(sleep);
use SupTest;
use MonTest;

my $setpriv = (grep { -x } map { "$_/setpriv" } split /:/, $ENV{PATH})[0];
my @nobody = getpwnam('nobody');
plan skip_all => 'needs root, setpriv and a nobody user' unless $> == 0 && $setpriv && @nobody;

my $dir = tempdir('supervisord-test-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0777, $dir;
local $ENV{SUPERVISORD_WRAPPER} = join(' ', $setpriv, "--reuid=$nobody[2]", "--regid=$nobody[3]",
    '--clear-groups', $ENV{SUPERVISORD_WRAPPER} // ());
my $d = start_daemon(dir => $dir, args => ['-M', 'memory:interval=0.5,maximum-size-limit=30M']);
my $hog = hog(40);
my $conn = register_pid($d, $hog);
wait_ticks($d, 5);
ok(kill(0, $hog) && waitpid($hog, WNOHANG) == 0, 'the process is alive: it could not be signalled');
my @cannot = log_lines($d, qr/cannot signal process_id=$hog /);
is(scalar @cannot, 1, 'the failure is logged once, not every tick') or diag(join("\n", @cannot));
like($cannot[0] // '', qr/^warn memory monitor: cannot signal process_id=$hog signal=INT reason=maximum-size-limit: Operation not permitted$/,
    'at warn, with the cause');
is(scalar(signalled_pids($d)), 0, 'no signal claimed');
my $entry = memory_section($d->client)->{processes}{$hog};
ok($entry->{sample_count} >= 4 && $entry->{current_size} > 40 * MIB,
    'sampled from statm when smaps is not readable');
is($d->stop, 0, 'daemon stops cleanly');

done_testing();
