# Test helpers: start the real daemon on a socket in a temporary directory
# and talk to it as a client would. Every process started here is stopped
# when the test ends, however it ends.
package SupTest;

use strict;
use warnings;
use Exporter 'import';
use Cwd qw(abs_path);
use Fcntl qw(F_GETFD F_SETFD FD_CLOEXEC);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::UNIX;
use JSON::PP;
use POSIX qw(:sys_wait_h);
use Socket qw(SOCK_STREAM);
use Time::HiRes qw(time sleep);

our @EXPORT = qw(binary start_daemon spawn reap_pid wait_until json slurp register_worker memory_judged);

my $ROOT = abs_path(dirname(__FILE__) . '/../..');
my %children;    # pid => 1, everything we started and have not reaped
my $JSON = JSON::PP->new->canonical->allow_nonref;

sub json { $JSON }

# SUPERVISORD may name another build (sanitizers); SUPERVISORD_WRAPPER
# prefixes a command (valgrind) to every daemon the tests start.
sub binary { $ENV{SUPERVISORD} // "$ROOT/supervisord" }

sub wrapper { $ENV{SUPERVISORD_WRAPPER} ? split(' ', $ENV{SUPERVISORD_WRAPPER}) : () }

# Whether the daemon's memory figures are its own: sanitizers keep freed
# memory in quarantine, valgrind has its own heap, and under emulation
# (SUPERVISORD_EMULATED) the sizes are the emulator's, with its translation
# cache. Elsewhere a test reports the figures but does not judge them.
sub memory_judged {
	return !$ENV{SUPERVISORD_WRAPPER} && !$ENV{SUPERVISORD_EMULATED}
	    && ($ENV{SUPERVISORD} // '') !~ /asan/ && index(slurp(binary()), '__asan_init') < 0;
}

# Generous when a wrapper slows everything down.
sub slow { $ENV{SUPERVISORD_WRAPPER} ? 10 : 1 }

sub cleanup {
	for my $pid (keys %children) {
		kill 'TERM', $pid;
	}
	my $deadline = time + 5;
	while (%children && time < $deadline) {
		for my $pid (keys %children) {
			delete $children{$pid} if waitpid($pid, WNOHANG) != 0;
		}
		sleep 0.02 if %children;
	}
	for my $pid (keys %children) {
		kill 'KILL', $pid;
		waitpid($pid, 0);
		delete $children{$pid};
	}
}

END { my $status = $?; cleanup(); $? = $status; }
$SIG{INT} = $SIG{TERM} = sub { cleanup(); exit 1; };
$SIG{PIPE} = 'IGNORE';

# Starts a command; returns its pid. %opt: stdout, stderr (paths), fds (list of handles to keep open).
sub spawn {
	my ($cmd, %opt) = @_;
	my $pid = fork;
	die "fork: $!" unless defined $pid;
	if ($pid == 0) {
		$SIG{INT} = $SIG{TERM} = 'DEFAULT';
		if ($opt{stdout}) { open(STDOUT, '>>', $opt{stdout}) or die; }
		if ($opt{stderr}) { open(STDERR, '>>', $opt{stderr}) or die; }
		if ($opt{stdin}) { open(STDIN, '<', $opt{stdin}) or die; }
		for my $fh (@{ $opt{fds} || [] }) {
			my $flags = fcntl($fh, F_GETFD, 0);
			fcntl($fh, F_SETFD, $flags & ~FD_CLOEXEC);
		}
		setpgrp(0, 0) if $opt{new_group};
		exec(@$cmd) or POSIX::_exit(127);
	}
	$children{$pid} = 1;
	return $pid;
}

# Waits for pid; returns its wait status, or undef after the timeout.
sub reap_pid {
	my ($pid, $timeout) = @_;
	my $deadline = time + ($timeout // 5) * slow();
	while (time < $deadline) {
		my $r = waitpid($pid, WNOHANG);
		if ($r == $pid || $r == -1) {
			delete $children{$pid};
			return $r == -1 ? -1 : $?;
		}
		sleep 0.01;
	}
	return undef;
}

sub wait_until {
	my ($cond, $timeout) = @_;
	my $deadline = time + ($timeout // 5) * slow();
	while (time < $deadline) {
		return 1 if $cond->();
		sleep 0.02;
	}
	return $cond->() ? 1 : 0;
}

# Registers a new connection with %state; returns (client, connection_id).
sub register_worker {
	my ($daemon, %state) = @_;
	my $client = $daemon->client;
	my $reply = $client->call_final('register', %state ? (state => \%state) : ());
	die 'register failed: ' . json()->encode($reply) . "\n"
	    unless $reply && defined $reply->{connection_id};
	return ($client, $reply->{connection_id});
}

sub slurp {
	my ($path) = @_;
	open(my $fh, '<', $path) or return '';
	local $/;
	my $text = <$fh>;
	return $text // '';
}

# Starts the daemon and returns a SupTest::Daemon once its socket listens.
# %opt: args => [...] extra options, dir => directory, socket => path, log => path,
# no_wait => 1, prefix => [...] a command that runs the daemon (unshare, chroot).
sub start_daemon {
	my (%opt) = @_;
	my $dir = $opt{dir} // tempdir('supervisord-test-XXXXXX', TMPDIR => 1, CLEANUP => 1);
	my $socket = $opt{socket} // "$dir/supervisor.ipc";
	my $log = $opt{log} // "$dir/daemon.log";
	pipe(my $ready_r, my $ready_w) or die "pipe: $!";
	my @cmd = (@{ $opt{prefix} || [] }, wrapper(), binary(), '-s', $socket, '-l', $opt{log_level} // 'debug',
	    '--ready-fd', fileno($ready_w), @{ $opt{args} || [] });
	my $pid = spawn(\@cmd, stderr => $log, fds => [$ready_w], new_group => $opt{new_group});
	close($ready_w);
	my $daemon = bless { pid => $pid, socket => $socket, dir => $dir, log => $log }, 'SupTest::Daemon';
	return $daemon if $opt{no_wait};
	my $sel = IO::Select->new($ready_r);
	my $line;
	if ($sel->can_read(10 * slow())) {
		$line = <$ready_r>;
	}
	close($ready_r);
	die "daemon did not become ready:\n" . slurp($log) unless defined $line && $line eq "\n";
	return $daemon;
}

package SupTest::Daemon;

use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time sleep);

sub pid { $_[0]{pid} }
sub socket { $_[0]{socket} }
sub dir { $_[0]{dir} }
sub log { SupTest::slurp($_[0]{log}) }

sub client {
	my ($self) = @_;
	return SupTest::Client->new($self->{socket});
}

# True while it runs; once it has exited, stop() returns the status it had.
sub alive {
	my ($self) = @_;
	return 0 if exists $self->{status};
	my $r = waitpid($self->{pid}, WNOHANG);
	if ($r == $self->{pid}) {
		$self->{status} = $?;
		delete $children{$self->{pid}};
		return 0;
	}
	return $r == 0;
}

# Sends sig and waits; returns the wait status (undef if it did not exit).
sub stop {
	my ($self, $sig) = @_;
	return $self->{status} if exists $self->{status};
	kill($sig // 'TERM', $self->{pid});
	my $status = SupTest::reap_pid($self->{pid}, 10);
	$self->{status} = $status if defined $status;
	return $status;
}

# Resident and context-switch figures from /proc/PID/status.
sub proc_status {
	my ($self) = @_;
	my %f;
	for (split /\n/, SupTest::slurp("/proc/$self->{pid}/status")) {
		$f{$1} = $2 if /^(\w+):\s+(\d+)/;
	}
	return \%f;
}

sub fd_count {
	my ($self) = @_;
	opendir(my $dh, "/proc/$self->{pid}/fd") or return -1;
	my @fds = grep { !/^\./ } readdir($dh);
	return scalar @fds;
}

package SupTest::Client;

use IO::Select;
use IO::Socket::UNIX;
use Socket qw(SOCK_STREAM);
use Time::HiRes qw(time);

sub new {
	my ($class, $path) = @_;
	my $sock = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $path)
	    or die "connect $path: $!";
	$sock->autoflush(1);
	return bless { sock => $sock, buf => '', next_id => 2 }, $class;
}

sub sock { $_[0]{sock} }

sub close { my ($self) = @_; close($self->{sock}) if $self->{sock}; delete $self->{sock}; }

# Sends raw bytes.
sub send_raw {
	my ($self, $bytes) = @_;
	my $off = 0;
	while ($off < length $bytes) {
		my $n = syswrite($self->{sock}, $bytes, length($bytes) - $off, $off);
		die "write: $!" unless defined $n;
		$off += $n;
	}
}

# Waits until the daemon has read everything sent so far (the socket's send
# queue is empty); returns false after the timeout. TIOCOUTQ (SIOCOUTQ) is
# 0x5411 on every Linux architecture the suite runs on.
sub wait_consumed {
	my ($self, $timeout) = @_;
	return SupTest::wait_until(sub {
		my $queued = pack('i', 0);
		ioctl($self->{sock}, 0x5411, $queued) or return 1;
		return unpack('i', $queued) == 0;
	}, $timeout // 5);
}

# Sends one message (a hash) as a JSON line.
sub send {
	my ($self, $msg) = @_;
	$self->send_raw(SupTest::json()->encode($msg) . "\n");
}

# Returns the next line (without newline), or undef on timeout or EOF.
sub recv_line {
	my ($self, $timeout) = @_;
	my $deadline = time + ($timeout // 5) * SupTest::slow();
	my $sel = IO::Select->new($self->{sock});
	while (1) {
		if ($self->{buf} =~ s/^([^\n]*)\n//) {
			return $1;
		}
		my $left = $deadline - time;
		return undef if $left <= 0;
		return undef unless $sel->can_read($left);
		my $n = sysread($self->{sock}, my $chunk, 65536);
		return undef unless $n;    # EOF or error
		$self->{buf} .= $chunk;
	}
}

# Returns the next message decoded, or undef.
sub recv {
	my ($self, $timeout) = @_;
	my $line = $self->recv_line($timeout);
	return undef unless defined $line;
	return SupTest::json()->decode($line);
}

# True if nothing arrives within $timeout seconds.
sub quiet {
	my ($self, $timeout) = @_;
	return 0 if length $self->{buf};
	my $sel = IO::Select->new($self->{sock});
	return !$sel->can_read($timeout // 0.3);
}

# True if the daemon closed this connection.
sub eof {
	my ($self, $timeout) = @_;
	my $sel = IO::Select->new($self->{sock});
	return 0 unless $sel->can_read($timeout // 5);
	my $n = sysread($self->{sock}, my $chunk, 65536);
	return 1 if defined $n && $n == 0;
	return 1 if !defined $n;
	$self->{buf} .= $chunk;
	return 0;
}

# Makes a call: sends {"id":N,"do":op,...} and returns every reply up to the
# finished one, as a list of hashes (empty on timeout).
sub call {
	my ($self, $op, %params) = @_;
	my $id = $self->{next_id};
	$self->{next_id} += 2;
	$self->send({ id => $id, do => $op, %params });
	return $self->collect($id);
}

sub collect {
	my ($self, $id, $timeout) = @_;
	my @replies;
	while (defined(my $msg = $self->recv($timeout))) {
		next if defined $msg->{id} && !ref $msg->{id} && $msg->{id} ne $id;
		push @replies, $msg;
		last if $msg->{finished};
	}
	return @replies;
}

# The final reply of a call.
sub call_final {
	my ($self, @args) = @_;
	my @r = $self->call(@args);
	return $r[-1];
}

1;
