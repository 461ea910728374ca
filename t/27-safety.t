#!/usr/bin/perl
# Safety: a register from a connection whose connecting process has gone,
# SIGHUP, -d --syslog leaving the caller's output alone, and the process
# monitor after -d watching the original parent's tree, not the machine.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use IO::Select;
use IO::Socket::UNIX;
use Socket qw(SOCK_DGRAM);
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep);
use SupTest;
use MonTest;

my $d = start_daemon();

# A process connects, hands the connection to its child and exits; the
# child then registers. Returns the final reply the child received.
sub register_after_peer_exits {
	my (%params) = @_;
	pipe(my $go_r, my $go_w) or die "pipe: $!";
	pipe(my $res_r, my $res_w) or die "pipe: $!";
	my $peer = fork // die "fork: $!";
	if ($peer == 0) {
		my $c = $d->client;
		my $holder = fork // POSIX::_exit(1);
		if ($holder == 0) {
			close($go_w);
			close($res_r);
			my $state = { name => 'orphan' };
			$state->{process_id} = $$ if $params{claim_self};
			<$go_r>;
			my $r = $c->call_final('register', state => $state);
			syswrite($res_w, SupTest::json()->encode($r // {}) . "\n");
			POSIX::_exit(0);
		}
		POSIX::_exit(0);
	}
	close($go_r);
	close($res_w);
	reap_pid($peer, 5);
	ok(wait_until(sub { !-e "/proc/$peer" }, 5), 'the connecting process is gone');
	syswrite($go_w, "go\n");
	close($go_w);
	my $line;
	$line = <$res_r> if IO::Select->new($res_r)->can_read(10 * SupTest::slow());
	close($res_r);
	return ($peer, defined $line ? SupTest::json()->decode($line) : undef);
}

subtest 'register without process_id after the connecting process exited is refused' => sub {
	my ($peer, $r) = register_after_peer_exits();
	ok($r && $r->{failed}, 'refused') or diag explain $r;
	like($r->{error} // '', qr/^Refusing to register: the process that connected \(pid $peer\) has exited/,
	    'and says why');
	my $status = $d->client->call_final('status');
	ok(!grep({ ($_->{state}{name} // '') eq 'orphan' } @{ $status->{connections} || [] }),
	    'nothing registered') or diag explain $status;
};

subtest 'a process_id claim from a connection whose connecting process exited is refused' => sub {
	my ($peer, $r) = register_after_peer_exits(claim_self => 1);
	ok($r && $r->{failed}, 'refused') or diag explain $r;
	like($r->{error} // '', qr/^Refusing to register: the process that connected \(pid $peer\) has exited/,
	    'and says why');
};

subtest 'a live peer still registers' => sub {
	my $r = $d->client->call_final('register', state => { name => 'alive' });
	ok($r->{finished} && !$r->{failed}, 'registered') or diag explain $r;
};

subtest 'SIGHUP is logged and ignored' => sub {
	kill 'HUP', $d->pid;
	ok(wait_until(sub { $d->log =~ /ignoring SIGHUP/ }, 5), 'logged at info') or diag $d->log;
	ok($d->alive, 'still running');
	my $r = $d->client->call_final('status');
	ok($r && $r->{finished}, 'still serving');
};

is($d->stop, 0, 'SIGTERM still stops it with status 0');

# With a syslog daemon listening, nothing is printed; with none, the fallback
# is said once and the lines go to stderr until the daemon detaches (then to
# the console); either way the capture returns.
for my $case (['a syslog daemon', 1, qr/\Astatus=0 out=\n\z/],
    ['no syslog daemon', 0, qr/\Astatus=0 out=warn syslog: no syslog daemon listens at [^\n]+; logging to standard error until one does\n(?:info [^\n]+\n)*\z/]) {
	my ($what, $listening, $want) = @$case;
	subtest "-d --syslog with $what lets a \$(...) capture return" => sub {
		my $dir = $d->dir;
		my $socket = "$dir/syslog$listening.ipc";
		my $pidfile = "$dir/syslog$listening.pid";
		my $out = "$dir/capture$listening.out";
		my $log_path = "$dir/syslog$listening.sock";
		my $log = $listening && IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => $log_path)
		    // die "syslog socket: $!";
		local $ENV{SUPERVISORD_SYSLOG_SOCKET} = $log_path;
		my $sh = spawn(['sh', '-c', 'out=$("$0" -d --syslog -s "$1" -p "$2" 2>&1); echo "status=$? out=$out"',
		    SupTest::binary(), $socket, $pidfile], stdout => $out);
		my $status = reap_pid($sh, 10);
		my $daemon = SupTest::slurp($pidfile) + 0;
		kill 'TERM', $daemon if $daemon > 1;
		is($status, 0, 'the capture returned') or kill 'KILL', $sh;
		like(SupTest::slurp($out), $want, 'with status 0, printing only what it must');
		ok(wait_until(sub { !kill(0, $daemon) || SupTest::slurp("/proc/$daemon/stat") =~ /\)\s+Z/ }, 5),
		    'the daemon stops at SIGTERM') if $daemon > 1;
	};
}

# Starts `supervisord -d -M process:interval=0.2` through @via; returns (pid, socket, log).
sub background_with_process_monitor {
	my ($name, @via) = @_;
	my $dir = $d->dir;
	my ($socket, $pidfile, $log) = map { "$dir/$name.$_" } qw(ipc pid log);
	my $starter = spawn([@via, SupTest::binary(), '-d', '-s', $socket, '-p', $pidfile,
	    '-l', 'debug', '-M', 'process:interval=0.2'], stderr => $log);
	is(reap_pid($starter, 10), 0, "$name: started");
	# Never 0 or garbage: kill would take that for our own process group.
	my $pid = SupTest::slurp($pidfile) =~ /^([1-9]\d*)\n\z/ && $1 > 1 ? $1 + 0 : -1;
	ok($pid > 1, "$name: the pidfile holds a valid pid");
	ok(wait_until(sub { (() = SupTest::slurp($log) =~ /monitor tick name=process/g) >= 3 }, 10),
	    "$name: a few ticks");
	return ($pid, $socket, $log);
}

sub stop_background {
	my ($pid) = @_;
	kill 'TERM', $pid if $pid > 1;
	ok(wait_until(sub { !kill(0, $pid) || SupTest::slurp("/proc/$pid/stat") =~ /\)\s+Z/ }, 5),
	    'stops at SIGTERM');
}

subtest '-d: the process monitor watches the tree of the original parent' => sub {
	my ($pid, $socket, $log) = background_with_process_monitor('tree');
	my $s = process_section(SupTest::Client->new($socket));
	is($s->{ppid}, $$, 'ppid is the process that ran supervisord -d') or diag explain $s;
	ok(!exists $s->{metrics}{$pid}, 'the daemon, now under init, is not in it');
	ok(!exists $s->{metrics}{1}, 'nor is init');
	cmp_ok(scalar(keys %{ $s->{metrics} }), '<', 20, 'only a handful of processes');
	stop_background($pid);
};

subtest '-d: once the original parent has gone, the process monitor watches nothing' => sub {
	my ($pid, $socket, $log) = background_with_process_monitor('gone', 'sh', '-c', '"$@"; true', 'sh');
	my $s = process_section(SupTest::Client->new($socket));
	is_deeply($s->{metrics}, {}, 'no metrics') or diag explain [ keys %{ $s->{metrics} } ];
	my @warnings = SupTest::slurp($log) =~ /parent \(pid \d+\) has gone; watching nothing/g;
	is(scalar @warnings, 1, 'said so once') or diag SupTest::slurp($log);
	unlike(SupTest::slurp($log), qr/process metrics pid=/, 'and logged no process metrics');
	stop_background($pid);
};

done_testing;
