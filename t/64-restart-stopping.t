#!/usr/bin/perl
# restart (SPEC 3, issue 9.5): stopping signals are refused, so no peer can
# freeze the daemon, its parent or its group; with --restart-target=group
# a signal whose default would end the daemon reaches the rest of the group
# but never the daemon, which answers, logs and carries on.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use POSIX qw(SIGALRM SIGQUIT SIGCONT);
use Test::More;
use SupTest;

my $tmp = tempdir('supervisord-stopping-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my @groups;
END { kill 'CONT', -$_ for @groups; kill 'KILL', -$_ for @groups; }

sub run_state {
	my ($pid) = @_;
	my $stat = slurp("/proc/$pid/stat");
	return $stat =~ /^\d+ \(.*\) (\S)/s ? $1 : '';
}

# A process that joins group $pgid and waits; its pid once it is in.
my $serial = 0;
sub member {
	my ($pgid) = @_;
	my $ready = "$tmp/member-" . $serial++;
	my $pid = spawn([$^X, '-MPOSIX', '-e',
	    'POSIX::setpgid(0, $ARGV[0]) or die "setpgid: $!"; open(my $f, ">", $ARGV[1]); close $f; sleep 30; exit 1',
	    $pgid, $ready]);
	wait_until(sub { -e $ready }, 5) or die 'group member did not start';
	return $pid;
}

my $d = start_daemon(args => ['--restart-target=group'], new_group => 1);
push @groups, $d->pid;
my $c = $d->client;
my $events = $d->client;
$events->send({ id => 2, do => 'events', types => ['restart'] });
$events->recv;

my $member = member($d->pid);
for my $signal ('STOP', 'SIGTSTP', 'TTIN', 'ttou', 19) {
	my $r = $c->call_final('restart', signal => $signal);
	ok($r->{failed} && $r->{finished}, "signal $signal: refused");
	like($r->{error}, qr/^Refusing signal (STOP|TSTP|TTIN|TTOU): it stops processes/, "signal $signal: saying why");
}
ok($events->quiet(0.2), 'a refused restart is no event');
isnt(run_state($d->pid), 'T', 'the daemon is not stopped');
isnt(run_state($member), 'T', 'nor is the rest of its group');
unlike($d->log, qr/restart: signalling/, 'nothing was signalled');

# ALRM and QUIT would end the daemon by their default action.
for my $case (['ALRM', SIGALRM], ['QUIT', SIGQUIT]) {
	my ($name, $signo) = @$case;
	my @r = $c->call('restart', signal => $name);
	is_deeply([map { $_->{failed} // 0 } @r], [0], "$name to the group: one plain final reply");
	my $status = reap_pid($member, 5);
	ok(defined $status && ($status & 127) == $signo, "$name to the group: the other member got it");
	ok($d->alive, "$name to the group: the daemon is still running");
	is(scalar(() = $c->call('status')), 1, "$name to the group: and answering");
	like($d->log, qr/^info restart: signalling process group ${\ $d->pid} signal=$name$/m, "$name: logged");
	my ($event) = $events->recv;
	is_deeply([@$event{qw(event signal target target_process_id)}], ['restart', $name, 'group', $d->pid],
	    "$name: a restart event with the signal and the target");
	$member = member($d->pid);
}

# KILL cannot be held off: the daemon answers and logs before it goes.
my @r = $c->call('restart', signal => 'KILL');
is_deeply(\@r, [{ id => $r[0]{id}, finished => JSON::PP::true, signal => 'KILL', target => 'group',
    target_process_id => $d->pid }], 'KILL to the group: the reply arrives first');
my $status = reap_pid($d->pid, 5);
is($status & 127, 9, 'then the daemon is killed with its group');
$d->{status} = $status;
like($d->log, qr/^info restart: signalling process group \d+ signal=KILL$/m, 'after logging it');
reap_pid($member, 5);

# In parent mode the parent (this test) must never be stopped either.
my $p = start_daemon();
my $r = $p->client->call_final('restart', signal => 'STOP');
like($r->{error}, qr/^Refusing signal STOP/, 'parent mode: STOP refused');
is($p->stop, 0, 'clean exit');
done_testing();
