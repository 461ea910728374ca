#!/usr/bin/perl
# worker --state (SPEC 7): members the wrapper publishes itself (name,
# status, restarts, started_at, ...) given in --state are replaced by the
# wrapper's, under their own names: none goes out as "" and none is lost.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use SupTest;
use WorkerTest;

my $d = start_daemon(args => ['--restart-target=none']);
my $sock = $d->socket;
my $w = start_worker($sock, '-n', 'overlap', '--state',
    '{"name":"other","status":"hacked","restarts":99,"started_at":"x","role":"kept"}', '--', 'sleep', '60');
my $e = wait_for_worker($d, 'overlap', sub { ($_[0]{state}{status} // '') eq 'running' });
ok($e, 'registered under its -n name, running') or diag explain [status_entries($d)];
my $state = $e ? $e->{state} : {};
ok(!exists $state->{''}, 'no member named ""') or diag explain $state;
is($state->{restarts}, 0, 'restarts: the wrapper\'s');
like($state->{started_at} // '', qr/^\d+(\.\d+)?$/, 'started_at: the wrapper\'s');
is($state->{role}, 'kept', 'other --state members kept');
my ($rc, $out) = run_client($sock, 'status', 'overlap');
is($rc, 0, 'status NAME: exit 0, it runs') or diag $out;

kill 'TERM', $w;
reap_pid($w, 10);
is($d->stop, 0, 'clean exit');
done_testing();
