#!/usr/bin/perl
# A wrapped child that the memory monitor signals comes back under the same
# connection id, and status and metrics still say why it was signalled.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use SupTest;
use WorkerTest;

my $d = start_daemon(args => ['-M', 'memory:interval=1,maximum-size-limit=40M']);
my $sock = $d->socket;
my $w = start_worker($sock, '-n', 'hog', '--respawn', '--', 'perl', '-e', '$x = "y" x 60_000_000; sleep 300');
my $first = wait_for_worker($d, 'hog');
ok($first, 'registered') or BAIL_OUT('no worker');
my $again = wait_for_worker($d, 'hog', sub { ($_[0]{state}{restarts} // 0) >= 1 && $_[0]{last_action} }, 20);
ok($again, 'signalled by the memory monitor and started again') or diag explain [status_entries($d)];
is($again->{connection_id}, $first->{connection_id}, 'the same connection id');
is($again->{last_action}{monitor}, 'memory', 'last_action names the monitor');
is($again->{last_action}{reason}, 'maximum-size-limit', 'and the reason');
my ($rc, $out) = run_client($sock, 'metrics');
like($out, qr/^supervisord_monitor_actions\{monitor="memory",reason="maximum-size-limit"\} 1$/m,
    'metrics count the action by monitor and reason');
($rc, $out) = run_client($sock, 'status');
like($out, qr/^memory monitor: total (\d+\.\dM|-), total limit -, free minimum -$/m,
    'status sums up the memory monitor under the table');
kill 'TERM', $w;
ok(defined reap_pid($w, 10), 'the wrapper stops on TERM');
is($d->stop, 0, 'the daemon stops cleanly');
done_testing();
