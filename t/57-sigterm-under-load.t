#!/usr/bin/perl
# SIGTERM under load: with 300 callers and 20 workers mid-call, the daemon
# stops at once, exits 0, removes its socket and pidfile, and every peer
# sees its connection end; no peer sees a malformed or stray line first.
use strict;
use warnings;
use File::Temp qw(tempdir);
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(sleep time);
use SupTest;

my $stress = "$FindBin::Bin/stress";
plan skip_all => "t/stress not built (make t/stress)" unless -x $stress;

my $dir = tempdir('supervisord-test-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $pidfile = "$dir/daemon.pid";
my $d = start_daemon(dir => $dir, log_level => 'debug', args => ['--pidfile', $pidfile]);
ok(-e $pidfile, 'pidfile written');

my $out_path = $d->dir . '/stress.out';
my $driver = spawn([$stress, $d->socket, 300, 20, 30, 11, '--until-eof'], stdout => $out_path);
ok(wait_until(sub { $d->log =~ /registered/ }, 5), 'workers registering');
ok(wait_until(sub { (() = $d->log =~ /^debug forwarding /mg) >= 200 }, 15), 'hundreds of forwards: under full load');
my $t0 = time;
my $status = $d->stop('TERM');
my $took = time - $t0;
is($status, 0, 'exit status 0 under load');
cmp_ok($took, '<', 5 * ($ENV{SUPERVISORD_WRAPPER} ? 4 : 1), sprintf('stopped in %.2f s', $took));
ok(!-e $d->socket, 'socket removed');
ok(!-e $pidfile, 'pidfile removed');
like($d->log, qr/stopping signal=/, 'stop logged');

my $driver_status = reap_pid($driver, 15);
my $out = slurp($out_path);
my %f = $out =~ /(\w+)=(\d+)/g;
is($driver_status, 0, 'the driver saw nothing unexpected before the end') or diag($out);
cmp_ok($f{eof} // 0, '>', 0, "peers saw their connections end ($f{eof} ends)");
cmp_ok($f{calls} // 0, '>', 100, "calls were in flight ($f{calls})");
done_testing();
