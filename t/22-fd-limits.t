#!/usr/bin/perl
# Connections (SPEC 4): the fd limit is raised at start-up; at the fd limit
# or at --max-connections the daemon keeps serving, does not spin, and
# accepts again once connections close.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use Test::More;
use Time::HiRes qw(sleep);
use SupTest;

my $tmp = tempdir('supervisord-fds-XXXXXX', TMPDIR => 1, CLEANUP => 1);

# A wrapper that starts the daemon under the given soft and hard fd limits.
sub limited {
	my ($soft, $hard) = @_;
	my $path = "$tmp/limit-$soft-$hard";
	open(my $f, '>', $path) or die;
	print $f "#!/bin/sh\nulimit -S -n $soft && ulimit -H -n $hard || exit 99\nexec \"\$@\"\n";
	close $f;
	chmod 0755, $path;
	return join(' ', $path, $ENV{SUPERVISORD_WRAPPER} // ());
}

sub limits_of {
	my ($pid) = @_;
	my ($line) = grep { /^Max open files/ } split /\n/, slurp("/proc/$pid/limits");
	return [(split ' ', $line)[3, 4]];
}

sub cpu_ticks {
	my ($pid) = @_;
	my $stat = slurp("/proc/$pid/stat");
	$stat =~ s/^.*\)\s+//s;
	my @f = split ' ', $stat;
	return $f[11] + $f[12];    # utime + stime
}

# True when the client gets its status reply within the time given.
sub served {
	my ($c, $timeout) = @_;
	$c->send({ id => 2, do => 'status' });
	my $r = $c->recv($timeout // 2);
	return $r && $r->{finished} ? 1 : 0;
}

subtest 'the soft fd limit is raised to the hard limit' => sub {
	local $ENV{SUPERVISORD_WRAPPER} = limited(64, 1000);
	my $d = start_daemon();
	is_deeply(limits_of($d->pid), [1000, 1000], 'soft limit 64 raised to the hard limit 1000');
	is($d->stop, 0, 'exit status 0');
};

subtest 'at the fd limit' => sub {
	local $ENV{SUPERVISORD_WRAPPER} = limited(32, 32);
	my $d = start_daemon();
	is_deeply(limits_of($d->pid), [32, 32], 'running with 32 fds');
	# Connect until one is not served: it sits in the backlog.
	my (@clients, @waiting);
	for (1 .. 40) {
		my $c = $d->client;
		if (served($c, 0.3)) { push @clients, $c; next; }
		push @waiting, $c;
		last;
	}
	cmp_ok(scalar @clients, '>=', 20, scalar(@clients) . ' clients served, the fds all used');
	is(scalar @waiting, 1, 'a client over the limit is not served');
	opendir(my $dh, '/proc/' . $d->pid . '/fd') or die;
	is(scalar(grep { /^\d+$/ && $_ < 32 } readdir($dh)), 32, 'every fd under the limit in use');
	push @waiting, map { $d->client } 1 .. 2;    # connect() succeeds: they sit in the backlog
	$waiting[$_]->send({ id => 2, do => 'status' }) for 1 .. 2;
	ok($waiting[2]->quiet(0.1), 'nor are the ones after it');
	ok(served($clients[0], 1) && served($clients[-1], 1), 'existing clients are still served');
	my $before = cpu_ticks($d->pid);
	sleep 1;
	my $used = cpu_ticks($d->pid) - $before;
	cmp_ok($used, '<=', 5, "no spinning: $used CPU ticks in one second");
	my $logged = () = $d->log =~ /not accepting for now: out of resources/g;
	is($logged, 1, 'the pause is logged once');
	$clients[$_]->close for 0 .. 2;
	for my $i (0 .. 2) {
		my $r = $waiting[$i]->recv(2);
		ok($r && $r->{finished}, "waiting client $i served once fds are free");
	}
	like($d->log, qr/accepting again/, 'resumption logged');
	ok(served($clients[-1], 1), 'old clients still fine');
	$_->close for @clients, @waiting;
	is($d->stop, 0, 'exit status 0');
};

subtest 'at --max-connections' => sub {
	my $d = start_daemon(args => ['--max-connections', '3']);
	my @clients = map { $d->client } 1 .. 3;
	ok(served($_), 'served') for @clients;
	my @waiting = map { $d->client } 1 .. 2;
	$_->send({ id => 2, do => 'status' }) for @waiting;
	ok($waiting[0]->quiet(0.3) && $waiting[1]->quiet(0), 'the fourth and fifth are not served');
	my $before = cpu_ticks($d->pid);
	my $switches = $d->proc_status->{voluntary_ctxt_switches};
	sleep 0.5;
	is(cpu_ticks($d->pid) - $before, 0, 'no CPU used while waiting');
	is($d->proc_status->{voluntary_ctxt_switches} - $switches, 0, 'not even a wake-up');
	ok(served($clients[1], 1), 'existing clients are still served');
	like($d->log, qr/not accepting: at the connection limit connections=3 max_connections=3/, 'logged');
	$clients[0]->close;
	my $r = $waiting[0]->recv(2);
	ok($r && $r->{finished}, 'one closes: the fourth is served');
	ok($waiting[1]->quiet(0.2), 'but not the fifth');
	$clients[1]->close;
	$r = $waiting[1]->recv(2);
	ok($r && $r->{finished}, 'another closes: the fifth is served');
	$_->close for @clients, @waiting;
	is($d->stop, 0, 'exit status 0');
};

done_testing();
