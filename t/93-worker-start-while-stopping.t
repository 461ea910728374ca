#!/usr/bin/perl
# A start that arrives while a stop is under way (the child has had TERM
# and not exited yet) is refused, saying so: it must not cancel the hold,
# or the stopped child of a wrapper without --respawn would end the
# wrapper, and a stop meant to keep a worker down would not.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use SupTest;
use WorkerTest;
use POSIX ();

my $d = start_daemon(args => ['--restart-target=none']);
my $sock = $d->socket;
# The child takes a moment to die on TERM.
my $w = start_worker($sock, '-n', 'slowstop', '--', 'sh', '-c',
    'trap "sleep 1; exit 0" TERM; while :; do sleep 0.1; done');
my $e = wait_for_worker($d, 'slowstop', sub { ($_[0]{state}{status} // '') eq 'running' });
ok($e, 'the worker runs');
my $child = $e->{process_id};

my $c = $d->client;
$c->send({ id => 2, do => 'forward', name => 'slowstop', operation => { do => 'stop', timeout => 10 } });
$c->send({ id => 4, do => 'forward', name => 'slowstop', operation => { do => 'start' } });
my %final;
while (keys %final < 2) {
	my $m = $c->recv(20) or last;
	$final{$m->{id}} = $m if $m->{finished};
}
ok($final{4}{failed}, 'start while stopping: refused') or diag explain \%final;
like($final{4}{error} // '', qr/^Stopping: the child \(pid $child\) has not exited yet/, 'saying why');
ok(!$final{2}{failed}, 'the stop is answered');
ok(exists $final{2}{last_exit}, 'with how the child ended');

my $after = wait_for_worker($d, 'slowstop', sub { ($_[0]{state}{status} // '') eq 'stopped' }, 10);
ok($after, 'the worker stays registered, stopped');
is($after && $after->{connection_id}, $e->{connection_id}, 'on the same connection id');
ok(kill(0, $w) && waitpid($w, POSIX::WNOHANG()) == 0, 'the wrapper still runs');

my ($rc, $out) = run_client($sock, 'start', 'slowstop');
is($rc, 0, 'start once stopped: exit 0');
like($out, qr/started as pid \d+/, 'started');
ok(wait_for_worker($d, 'slowstop', sub { ($_[0]{state}{status} // '') eq 'running' }), 'running again');

kill 'TERM', $w;
reap_pid($w, 10);
$c->close;
is($d->stop, 0, 'clean exit');
done_testing();
