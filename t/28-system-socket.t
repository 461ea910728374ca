#!/usr/bin/perl
# The system socket (SPEC 6): with neither -s nor $SUPERVISOR_IPC, the
# daemon and every client command use the one path compiled in (make
# SOCKET=PATH), which --help names; a user who cannot bind it is told how
# to use another socket.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use POSIX ();
use Test::More;
use SupTest;

my $tmp = tempdir('supervisord-syssock-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $tmp;
delete $ENV{SUPERVISOR_IPC};

# Runs the binary (as nobody when we are root); returns (status, stdout, stderr).
sub run_unprivileged {
	my (@args) = @_;
	my ($out, $err) = ("$tmp/out", "$tmp/err");
	unlink $out, $err;
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		open(STDOUT, '>', $out) or POSIX::_exit(126);
		open(STDERR, '>', $err) or POSIX::_exit(126);
		if ($> == 0) {
			my ($uid, $gid) = (getpwnam('nobody'))[2, 3];
			POSIX::_exit(126) unless defined $uid;
			POSIX::setgid($gid);
			$) = "$gid $gid";
			POSIX::setuid($uid) or POSIX::_exit(126);
		}
		exec(binary(), @args) or POSIX::_exit(127);
	}
	my $status = reap_pid($pid, 20);
	unless (defined $status) { kill 'KILL', $pid; waitpid($pid, 0); }
	return ($status, slurp($out), slurp($err));
}

my ($status, $help) = (undef, '');
{
	my $pid = spawn([binary(), '--help'], stdout => "$tmp/help");
	reap_pid($pid);
	$help = slurp("$tmp/help");
}
my ($system) = $help =~ /default \$SUPERVISOR_IPC, else (\S+)\)/;
ok(defined $system && $system =~ m{^/}, '--help names the system socket, an absolute path')
    or diag $help;
$system //= '/run/supervisord.ipc';

SKIP: {
	skip 'the system socket\'s folder is writable here: nothing to refuse', 4
	    if $> != 0 && -w dirname($system);
	($status, my $out, my $err) = run_unprivileged('-l', 'warn');
	skip 'cannot run the binary as nobody', 4 if defined $status && ($status >> 8) >= 126;
	is($status >> 8, 1, 'a user who cannot bind the system socket: exit status 1');
	like($err, qr{^supervisord: socket \Q$system\E: [^\n]*\(the system socket; pass -s PATH or set \$SUPERVISOR_IPC to use another socket\)\n\z},
	    'one line: what failed, and how to use another socket');

	($status, $out, $err) = run_unprivileged('status');
	is($status >> 8, 1, 'a client with no daemon at the system socket: exit status 1');
	like($err, qr{\Q$system\E}, 'names the system socket');
}

done_testing();
