#!/usr/bin/perl
# Where log lines go (SPEC 6): --syslog reaches a syslog daemon and leaves
# stderr quiet; with none listening the daemon says so once and logs to
# stderr until one listens again; a stderr nobody reads never stalls the
# loop: lines are dropped, counted, and the count is logged once writing works.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::UNIX;
use Socket qw(SOCK_DGRAM);
use Test::More;
use Time::HiRes qw(time);
use SupTest;

my $tmp = tempdir('supervisord-log-XXXXXX', TMPDIR => 1, CLEANUP => 1);

sub fake_syslog {
	my ($path) = @_;
	unlink $path;
	my $sock = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => $path) or die "syslog socket $path: $!";
	return $sock;
}

# Every datagram that arrives within $timeout seconds of the last one.
sub datagrams {
	my ($sock, $want, $timeout) = @_;
	my @got;
	my $sel = IO::Select->new($sock);
	my $deadline = time + ($timeout // 5);
	while (time < $deadline && !grep { $_ =~ $want } @got) {
		next unless $sel->can_read(0.1);
		recv($sock, my $msg, 4096, 0);
		push @got, $msg;
	}
	return @got;
}

subtest '--syslog with a syslog daemon: lines there, stderr quiet' => sub {
	my $syslog = fake_syslog("$tmp/log");
	local $ENV{SUPERVISORD_SYSLOG_SOCKET} = "$tmp/log";
	my $d = start_daemon(args => ['--syslog'], log_level => 'info');
	my $c = $d->client;
	ok($c->call_final('register')->{connection_id}, 'serves');
	my @lines = datagrams($syslog, qr/registered connection_id=/);
	my $pid = $d->pid;
	ok((grep { /^<30>supervisord\[$pid\]: info listening socket=/ } @lines),
	    'daemon facility, info severity, tag and pid, then the line') or diag explain \@lines;
	ok((grep { /^<30>supervisord\[$pid\]: info registered connection_id=/ } @lines), 'each event');
	$c->call_final('nope');
	$c->close;
	is($d->stop, 0, 'exit status 0');
	is($d->log, '', 'nothing on stderr');
};

subtest '--syslog with none listening: said once, stderr instead, syslog again once it listens' => sub {
	my $path = "$tmp/nobody-listens";
	local $ENV{SUPERVISORD_SYSLOG_SOCKET} = $path;
	my $d = start_daemon(args => ['--syslog'], log_level => 'info');
	my $c = $d->client;
	ok($c->call_final('register')->{connection_id}, 'serves');
	ok(wait_until(sub { $d->log =~ /registered connection_id=/ }), 'the lines go to stderr');
	my @said = $d->log =~ /^(warn syslog: .*)$/mg;
	is(scalar @said, 1, 'the fallback is said once');
	like($said[0] // '', qr/^warn syslog: no syslog daemon listens at \Q$path\E \(.+\); logging to standard error until one does$/,
	    'naming the socket and where the lines go');
	like($d->log, qr/\Ainfo |\Awarn syslog/, 'nothing before it is lost');

	my $syslog = fake_syslog($path);
	ok($c->call_final('register')->{connection_id}, 'serves on');
	my @lines = datagrams($syslog, qr/registered connection_id=/);
	ok((grep { /syslog: listening again/ } @lines), 'syslog is told it is back') or diag explain \@lines;
	ok((grep { /info registered connection_id=/ } @lines), 'the lines go to syslog again');
	my $registered = () = $d->log =~ /registered connection_id=/g;
	is($registered, 1, 'and no longer to stderr');
	$c->close;
	is($d->stop, 0, 'exit status 0');
};

subtest 'a stderr nobody reads does not stall the loop' => sub {
	pipe(my $r, my $w) or die "pipe: $!";
	fcntl($w, 1031, 4096);	# F_SETPIPE_SZ: one page fills fast
	my $socket = "$tmp/blocked.ipc";
	my $pid = spawn([SupTest::wrapper(), binary(), '-s', $socket, '-l', 'debug'],
	    stderr => '/dev/fd/' . fileno($w), fds => [$w]);
	close $w;
	ok(wait_until(sub { -S $socket }), 'listening');
	# Each connection logs two debug lines: far more than the pipe holds.
	for (1 .. 200) {
		my $c = SupTest::Client->new($socket);
		$c->close;
	}
	my $c = SupTest::Client->new($socket);
	my $t0 = time;
	my $reply = $c->call_final('status');
	ok($reply && $reply->{finished}, 'status is answered with the pipe full');
	cmp_ok(time - $t0, '<', 3, 'at once');

	# Drain the pipe; the next line that fits says how many were lost.
	my $sel = IO::Select->new($r);
	my $text = '';
	my $deadline = time + 10;
	while (time < $deadline && $text !~ /dropped \d+ lines/) {
		while ($sel->can_read(0)) {
			sysread($r, my $chunk, 65536) or last;
			$text .= $chunk;
		}
		$c->call_final('nope');	# a debug line to carry the count
		$sel->can_read(0.05);
	}
	my ($count) = $text =~ /^warn log: dropped (\d+) lines that could not be written at once$/m;
	ok($count && $count > 100, 'the dropped lines are counted and the count logged') or diag $text;
	$c->close;
	kill 'TERM', $pid;
	while ($sel->can_read(2)) { sysread($r, my $chunk, 65536) or last; }
	is(reap_pid($pid, 10), 0, 'exit status 0');
};

done_testing();
