#!/usr/bin/perl
# Command line (SPEC 6): -d returns once the socket listens, --pidfile,
# --ready-fd.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use IO::Socket::UNIX;
use Socket qw(SOCK_STREAM);
use Test::More;
use SupTest;

my $tmp = tempdir('supervisord-daemon-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my @daemons;
END { kill 'KILL', $_ for grep { $_ > 1 } @daemons; }

# The pid a pidfile holds, or undef: never 0 or garbage, which kill would
# take for our own process group.
sub read_pid {
	my ($pidfile) = @_;
	my $text = '';
	wait_until(sub { ($text = slurp($pidfile)) =~ /\n\z/ }, 5);
	return $text =~ /^([1-9]\d*)\n\z/ && $1 > 1 ? $1 + 0 : undef;
}

# Stops a daemon found through its pidfile, if it named one.
sub stop_pid {
	my ($pid, $name) = @_;
	ok(defined $pid, "$name: the pidfile held a valid pid") or return 0;
	push @daemons, $pid;
	kill 'TERM', $pid;
	return wait_until(sub { gone($pid) }, 5);
}

sub gone {
	my ($pid) = @_;
	return 1 unless kill(0, $pid);
	my $stat = slurp("/proc/$pid/stat");
	return $stat eq '' || $stat =~ /\)\s+Z/;
}

# Runs supervisord -d with args; returns (status, stderr file).
sub start_background {
	my (@args) = @_;
	my $err = "$tmp/err-" . int(rand(1e9));
	my $pid = spawn([binary(), '-d', '-l', 'debug', @args], stderr => $err);
	return (reap_pid($pid, 10), $err);
}

sub no_sanitizer_report {
	my ($log, $name) = @_;
	unlike(slurp($log), qr/Sanitizer|runtime error/, "$name: no sanitizer report");
}

subtest '-d returns once the socket listens' => sub {
	for my $round (1 .. 3) {
		my $socket = "$tmp/d$round.ipc";
		my $pidfile = "$tmp/d$round.pid";
		my ($status, $err) = start_background('-s', $socket, '-p', $pidfile);
		# No retry: the socket must answer the moment -d has returned.
		my $sock = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $socket);
		ok($sock, "round $round: connect right after -d returned") or diag("$!: " . slurp($err));
		is($status, 0, "round $round: exit status 0");
		like(slurp($pidfile), qr/^\d+\n\z/, "round $round: pidfile holds a pid and a newline");
		my $pid = read_pid($pidfile);
		my $c = SupTest::Client->new($socket);
		ok($c->call_final('status')->{finished}, "round $round: serves");
		ok(stop_pid($pid, "round $round"), "round $round: stops at SIGTERM");
		ok(!-e $socket, "round $round: socket removed");
		ok(!-e $pidfile, "round $round: pidfile removed");
		no_sanitizer_report($err, "round $round");
	}
};

subtest '-d detaches: new session, / as working directory, no terminal fds' => sub {
	my $socket = "$tmp/detach.ipc";
	my $pidfile = "$tmp/detach.pid";
	my ($status, $err) = start_background('-s', $socket, '-p', $pidfile);
	is($status, 0, 'exit status 0');
	my $pid = read_pid($pidfile);
	ok(defined $pid, 'the pidfile holds a valid pid') or return;
	push @daemons, $pid;
	my $stat = slurp("/proc/$pid/stat") =~ s/^.*\)\s+//sr;
	my (undef, $ppid, $pgrp, $session) = split ' ', $stat;
	is($session, $pid, 'its own session');
	is(readlink("/proc/$pid/cwd"), '/', 'working directory /');
	is(readlink("/proc/$pid/fd/0"), '/dev/null', 'stdin is /dev/null');
	is(readlink("/proc/$pid/fd/1"), '/dev/null', 'stdout is /dev/null');
	ok(stop_pid($pid, 'detached'), 'stops');
};

subtest '-d with relative paths: both files still removed after chdir /' => sub {
	my $pid = fork // die;
	if ($pid == 0) {
		chdir $tmp or die;
		open(STDERR, '>', "$tmp/rel.log") or die;
		exec(binary(), '-d', '-s', 'rel.ipc', '-p', 'rel.pid') or POSIX::_exit(127);
	}
	waitpid($pid, 0);
	is($?, 0, 'exit status 0');
	ok(-S "$tmp/rel.ipc", 'socket in the starting directory');
	ok(stop_pid(read_pid("$tmp/rel.pid"), 'relative'), 'stops');
	ok(!-e "$tmp/rel.ipc" && !-e "$tmp/rel.pid", 'both removed');
};

subtest '-d returns non-zero when start-up fails' => sub {
	my $file = "$tmp/regular";
	open(my $f, '>', $file) or die;
	close $f;
	my ($status, $err) = start_background('-s', $file);
	is($status >> 8, 1, 'socket path is a regular file: exit status 1');
	is(slurp($err), "supervisord: socket $file: exists and is not a socket; not removing it\n", 'the reason, once');
	ok(-f $file, 'the file is still there');
	($status, $err) = start_background('-s', "$tmp/" . ('x' x 120));
	is($status >> 8, 1, 'path too long: exit status 1');
	like(slurp($err), qr/^supervisord: socket .*: path too long/, 'the reason');
};

subtest 'a pidfile that cannot be written' => sub {
	my $socket = "$tmp/nopid.ipc";
	my $err = "$tmp/nopid.log";
	my $pid = spawn([binary(), '-s', $socket, '-p', "$tmp/no/such/dir/x.pid"], stderr => $err);
	is(reap_pid($pid, 10) >> 8, 1, 'exit status 1');
	is(slurp($err), "supervisord: pidfile $tmp/no/such/dir/x.pid: No such file or directory\n", 'one line naming it');
	ok(!-e $socket, 'the socket is not left behind');
};

subtest 'a pidfile that cannot be written fully: start-up fails, no pidfile left' => sub {
	my $socket = "$tmp/full.ipc";
	my $pidfile = "$tmp/full.pid";
	# No file may grow (RLIMIT_FSIZE 0, SIGXFSZ ignored): every write to a file fails.
	# The daemon's stderr is a pipe, which the limit does not touch.
	pipe(my $r, my $w) or die;
	my $pid = fork // die;
	if ($pid == 0) {
		close $r;
		open(STDERR, '>&', $w) or die;
		exec('sh', '-c', 'trap "" XFSZ; ulimit -f 0; exec "$@"', 'sh',
		    binary(), '-s', $socket, '-p', $pidfile) or POSIX::_exit(127);
	}
	close $w;
	my $err = do { local $/; <$r> } // '';
	waitpid($pid, 0);
	is($? >> 8, 1, 'exit status 1');
	like($err, qr/^supervisord: pidfile \Q$pidfile\E: write: File too large\n\z/, 'one line naming it and the cause');
	ok(!-e $pidfile, 'no pidfile');
	opendir(my $dh, $tmp) or die;
	is_deeply([grep { /^full\./ && !/\.lock\z/ } readdir $dh], [], "no temporary file, no socket left");
};

subtest 'a symlink at the pidfile path is replaced, never followed' => sub {
	my $target = "$tmp/not-a-pidfile";
	open(my $f, '>', $target) or die;
	print $f "keep\n";
	close $f;
	my $pidfile = "$tmp/link.pid";
	symlink($target, $pidfile) or die;
	my $d = start_daemon(args => ['--pidfile', $pidfile]);
	ok(!-l $pidfile && -f $pidfile, 'a regular file now');
	is(slurp($pidfile), $d->pid . "\n", 'holding the pid');
	is(slurp($target), "keep\n", 'the target untouched');
	is($d->stop, 0, 'exit status 0');
	ok(!-e $pidfile, 'removed on exit');
};

subtest 'a stale pidfile is replaced' => sub {
	my $pidfile = "$tmp/stale.pid";
	open(my $f, '>', $pidfile) or die;
	print $f "99999999\nmore junk than a pid\n";
	close $f;
	my $d = start_daemon(args => ['--pidfile', $pidfile]);
	is(slurp($pidfile), $d->pid . "\n", 'only the new pid');
	is(sprintf('%04o', (stat $pidfile)[2] & 07777), '0644', 'mode 0644');
	is($d->stop, 0, 'exit status 0');
};

subtest '--pidfile in the foreground' => sub {
	my $pidfile = "$tmp/fg.pid";
	my $d = start_daemon(args => ['--pidfile', $pidfile]);
	is(slurp($pidfile), $d->pid . "\n", 'the daemon pid');
	is($d->stop('INT'), 0, 'SIGINT: exit status 0');
	ok(!-e $pidfile, 'removed');
};

subtest '--ready-fd: a newline once listening, then closed' => sub {
	pipe(my $r, my $w) or die;
	my $socket = "$tmp/ready.ipc";
	my $ready_fd = fileno($w);
	my $pid = spawn([binary(), '-s', $socket, '--ready-fd', $ready_fd], fds => [$w], stderr => "$tmp/ready.log");
	close $w;
	my $got = '';
	while (sysread($r, my $buf, 16)) { $got .= $buf; }
	is($got, "\n", 'one newline, then end of file');
	ok(-S $socket, 'the socket was there by then');
	ok(!-e "/proc/$pid/fd/$ready_fd" || (readlink("/proc/$pid/fd/$ready_fd") // '') !~ /^pipe:/, 'the daemon closed it');
	kill 'TERM', $pid;
	is(reap_pid($pid), 0, 'exit status 0');
};

subtest '--ready-fd together with -d' => sub {
	pipe(my $r, my $w) or die;
	my $socket = "$tmp/ready-d.ipc";
	my $pidfile = "$tmp/ready-d.pid";
	my $pid = spawn([binary(), '-d', '-s', $socket, '-p', $pidfile, '--ready-fd', fileno($w)], fds => [$w]);
	close $w;
	my $got = '';
	while (sysread($r, my $buf, 16)) { $got .= $buf; }
	is($got, "\n", 'one newline, then end of file');
	is(reap_pid($pid), 0, 'the starter exits 0');
	ok(stop_pid(read_pid($pidfile), 'ready-fd'), 'stops');
};

done_testing();
