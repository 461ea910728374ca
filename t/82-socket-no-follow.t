#!/usr/bin/perl
# Connections (SPEC 4): the daemon never changes the mode or group of a file
# it did not create, whatever is swapped in at the socket path or its lock.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use POSIX qw(_exit);
use Test::More;
use Time::HiRes qw(time);
use SupTest;

plan skip_all => 'needs root: a root-owned target and a group to give' unless $> == 0;
my ($group) = grep { $_ != 0 } map { (getgrnam($_))[2] // () } qw(daemon nogroup users adm);
plan skip_all => 'needs a group other than root' unless defined $group;

my $tmp = tempdir('supervisord-nofollow-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $target = "$tmp/precious";
open(my $f, '>', $target) or die;
print $f "precious\n";
close $f;
chmod(0600, $target) or die;
chown(0, 0, $target) or die;

sub target_untouched {
	my ($name) = @_;
	my @st = lstat($target);
	is(sprintf('%04o/%d', $st[2] & 07777, $st[5]), '0600/0', "$name: target still 0600, group root");
	is(slurp($target), "precious\n", "$name: target content untouched");
}

my @widen = ('--socket-mode', '0660', '--socket-group', $group);

# Starts a daemon; waits until it listens or exits; stops it. Returns its log.
sub run_once {
	my ($socket, $log) = @_;
	my $d = start_daemon(socket => $socket, no_wait => 1, args => [@widen], log_level => 'info');
	my $pid = $d->pid;
	wait_until(sub { $d->log =~ /^info listening |^supervisord:/m || !$d->alive }, 10);
	$d->stop;
	return $d->log;
}

subtest 'a symlink at the socket path is refused, its target untouched' => sub {
	my $socket = "$tmp/link.ipc";
	symlink($target, $socket) or die;
	my $log = run_once($socket);
	like($log, qr/exists and is not a socket; not removing it/, 'refused');
	ok(-l $socket, 'the symlink is still there');
	target_untouched('symlink');
	unlink $socket;
};

subtest 'a symlink at the lock path is not followed' => sub {
	my $socket = "$tmp/lock.ipc";
	symlink($target, "$socket.lock") or die;
	my $log = run_once($socket);
	like($log, qr/lock \Q$socket\E\.lock: is a symbolic link; not following it/, 'refused, saying why');
	ok(!-e $socket, 'no socket made');
	target_untouched('lock symlink');
	unlink "$socket.lock";
};

subtest 'a swapper racing start-up never gets the target changed' => sub {
	my $socket = "$tmp/race.ipc";
	my $swapper = fork // die;
	if ($swapper == 0) {
		# Whatever appears at the socket path, or beside it, is replaced by a symlink.
		my $deadline = time + 60;
		while (time < $deadline) {
			opendir(my $dh, $tmp) or _exit(1);
			for my $name (readdir $dh) {
				next unless $name =~ /^race\.ipc(\.\w+)?$/ && $name ne 'race.ipc.lock';
				my $path = "$tmp/$name";
				next if -l $path;
				symlink($target, "$tmp/swap") and rename("$tmp/swap", $path);
			}
			closedir $dh;
		}
		_exit(0);
	}
	my ($started, $refused) = (0, 0);
	for my $round (1 .. 150) {
		my $log = run_once($socket);
		if ($log =~ /^info listening /m) { $started++ } else { $refused++ }
		unlink $socket if -l $socket;
	}
	kill 'KILL', $swapper;
	waitpid($swapper, 0);
	note("started $started, refused $refused");
	ok($started + $refused == 150, 'every round ended');
	target_untouched('race');
};

done_testing();
