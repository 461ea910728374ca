#!/usr/bin/perl
# Connections (SPEC 4): the socket file's permissions, and what start-up does
# with whatever is already at the socket path.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use IO::Socket::UNIX;
use Socket qw(SOCK_STREAM);
use Test::More;
use SupTest;

my $tmp = tempdir('supervisord-sock-XXXXXX', TMPDIR => 1, CLEANUP => 1);

# Runs the daemon expecting it to fail at start-up; returns (status, stderr).
sub fails_to_start {
	my (@args) = @_;
	my $err = "$tmp/err-" . rand();
	my $pid = spawn([binary(), @args], stderr => $err);
	my $status = reap_pid($pid, 10);
	return ($status, slurp($err));
}

sub mode_of { (stat($_[0]))[2] & 07777 }

subtest 'mode 0600 by default' => sub {
	my $d = start_daemon();
	ok(-S $d->socket, 'a socket');
	is(sprintf('%04o', mode_of($d->socket)), '0600', 'mode 0600');
	opendir(my $dh, $d->dir) or die;
	is_deeply([grep { /^supervisor\.ipc\.\w{6}$/ } readdir $dh], [], 'no private directory left beside it');
	is($d->stop, 0, 'exit status 0');
	ok(!-e $d->socket, 'removed on exit');
};

subtest 'mode 0600 whatever the umask' => sub {
	my $old = umask(0);
	my $d = start_daemon();
	umask($old);
	is(sprintf('%04o', mode_of($d->socket)), '0600', 'mode 0600 under umask 0');
	is($d->stop, 0, 'exit status 0');
};

subtest '--socket-mode and --socket-group widen it' => sub {
	my $gid = (split ' ', $))[-1];
	my ($other) = grep { $_ != $( } map { (getgrnam($_))[2] // () } qw(daemon nogroup users adm);
	$gid = $other if $> == 0 && defined $other;    # root may choose any group
	my $d = start_daemon(args => ['--socket-mode', '0660', '--socket-group', $gid]);
	is(sprintf('%04o', mode_of($d->socket)), '0660', 'mode 0660');
	is((stat($d->socket))[5], $gid, "group $gid");
	is($d->stop, 0, 'exit status 0');
	my $name = getgrgid($gid);
	# A static glibc build takes numbers only: it cannot load NSS to look names up.
	my $takes_names = defined $name && (reap_pid(spawn([binary(), '--socket-group', $name, '--version'],
	    stdout => '/dev/null', stderr => '/dev/null')) // -1) == 0;
	if ($takes_names) {
		$d = start_daemon(args => ['--socket-group', $name]);
		is((stat($d->socket))[5], $gid, "group by name ($name)");
		is($d->stop, 0, 'exit status 0');
	}
};

subtest 'a numeric --socket-group needs no group entry (static builds have no NSS)' => sub {
	plan skip_all => 'only root may give a socket to any group' unless $> == 0;
	my $gid = 47113;
	$gid++ while defined getgrgid($gid);
	my $d = start_daemon(args => ['--socket-mode', '0660', '--socket-group', $gid]);
	is((stat($d->socket))[5], $gid, "group $gid, which has no name");
	is($d->stop, 0, 'exit status 0');
};

subtest 'a path longer than sun_path is refused' => sub {
	my $long = "$tmp/" . ('d' x 120) . '.ipc';
	my ($status, $err) = fails_to_start('-s', $long);
	is($status >> 8, 1, 'exit status 1');
	like($err, qr/^supervisord: socket \Q$long\E: path too long \(\d+ > 107 bytes\)\n\z/, 'one line naming the path and the limit');
	ok(!-e $long, 'nothing created');
};

subtest 'a live socket is refused; the first daemon carries on' => sub {
	my $d = start_daemon();
	my $c = $d->client;
	my ($status, $err) = fails_to_start('-s', $d->socket);
	is($status >> 8, 1, 'second daemon: exit status 1');
	like($err, qr/^supervisord: socket \Q${\ $d->socket}\E: another daemon is already listening there\n\z/, 'one line saying so');
	ok(-S $d->socket, 'socket file still there');
	ok($c->call_final('status')->{finished}, 'an existing client is still served');
	ok($d->client->call_final('status')->{finished}, 'and new clients still connect');
	is($d->stop, 0, 'exit status 0');
};

subtest 'a stale socket is replaced' => sub {
	my $path = "$tmp/stale.ipc";
	my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM, Local => $path, Listen => 1) or die "$!";
	close($s);    # the file stays, nobody listens
	ok(-S $path, 'stale socket file present');
	my $d = start_daemon(socket => $path);
	ok($d->client->call_final('status')->{finished}, 'the new daemon serves on it');
	like($d->log, qr/removed stale socket path=\Q$path\E/, 'logged');
	is($d->stop, 0, 'exit status 0');
};

subtest 'a file that is not a socket is never removed' => sub {
	for my $kind ('file', 'symlink', 'directory', 'fifo') {
		my $path = "$tmp/not-a-socket-$kind";
		if ($kind eq 'file') { open(my $f, '>', $path) or die; print $f "precious\n"; close $f; }
		if ($kind eq 'symlink') { symlink("$tmp/elsewhere", $path) or die; }
		if ($kind eq 'directory') { mkdir($path) or die; }
		if ($kind eq 'fifo') { require POSIX; POSIX::mkfifo($path, 0600) or die; }
		my ($status, $err) = fails_to_start('-s', $path);
		is($status >> 8, 1, "$kind: exit status 1");
		like($err, qr/^supervisord: socket \Q$path\E: exists and is not a socket; not removing it\n\z/, "$kind: one line saying so");
		ok(-e $path || -l $path, "$kind: still there");
	}
	is(slurp("$tmp/not-a-socket-file"), "precious\n", 'the regular file is untouched');
};

subtest 'a directory that does not exist' => sub {
	my $path = "$tmp/no/such/dir/s.ipc";
	my ($status, $err) = fails_to_start('-s', $path);
	is($status >> 8, 1, 'exit status 1');
	like($err, qr/^supervisord: socket \Q$path\E: .*No such file or directory\n\z/, 'one line naming the path and the cause');
};

subtest 'on exit, a file that replaced the socket is left alone' => sub {
	my $d = start_daemon();
	unlink($d->socket);
	open(my $f, '>', $d->socket) or die;
	close $f;
	is($d->stop, 0, 'exit status 0');
	ok(-f $d->socket, 'the other file is still there');
};

subtest 'SUPERVISOR_IPC when -s is not given (t/28: the system socket)' => sub {
	my $dir = "$tmp/cwd";
	mkdir $dir;
	local $ENV{SUPERVISOR_IPC} = "$dir/env.ipc";
	my $pid = spawn([binary(), '-l', 'warn'], stderr => "$dir/log");
	ok(wait_until(sub { -S "$dir/env.ipc" }, 5), 'socket at $SUPERVISOR_IPC');
	kill 'TERM', $pid;
	is(reap_pid($pid), 0, 'exit status 0');
	my $d = start_daemon(socket => "$dir/given.ipc");
	ok(-S "$dir/given.ipc" && !-e "$dir/env.ipc", '-s wins over $SUPERVISOR_IPC');
	is($d->stop, 0, 'exit status 0');
};

done_testing();
