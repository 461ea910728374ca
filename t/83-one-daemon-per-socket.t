#!/usr/bin/perl
# Connections (SPEC 4): PATH.lock makes the stale check, bind and listen one
# step, so of two daemons started at once on one path exactly one runs. The
# lock file stays after exit, as flock(2) lock files do, and is reused.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use IO::Socket::UNIX;
use Socket qw(SOCK_STREAM);
use Test::More;
use SupTest;

my $tmp = tempdir('supervisord-lock-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $PAIRS = 60;

subtest "$PAIRS pairs started at once: exactly one of each runs" => sub {
	my ($one_ran, $both_ran, $none_ran, $clean_refusals) = (0, 0, 0, 0);
	for my $round (1 .. $PAIRS) {
		my $socket = "$tmp/pair$round.ipc";
		my @d = map { start_daemon(dir => $tmp, socket => $socket, no_wait => 1,
		    log => "$tmp/pair$round-$_.log", log_level => 'info') } 1 .. 2;
		ok(wait_until(sub { !grep { $_->alive && $_->log !~ /^info listening /m } @d }, 10),
		    "round $round: both settled") or next;
		my @running = grep { $_->alive } @d;
		my @refused = grep { !$_->alive } @d;
		$one_ran++ if @running == 1;
		$both_ran++ if @running == 2;
		$none_ran++ if @running == 0;
		for my $r (@refused) {
			my $status = $r->stop;
			$clean_refusals++ if defined $status && $status >> 8 == 1 &&
			    $r->log =~ /^supervisord: socket \Q$socket\E: another daemon is (already listening|starting) there/m;
		}
		if (@running == 1) {
			my $c = SupTest::Client->new($socket);
			ok($c->call_final('status')->{finished}, "round $round: the one running serves");
		}
		$_->stop for @running;
		ok(!-e $socket, "round $round: socket removed") if @running == 1;
	}
	is($one_ran, $PAIRS, 'exactly one ran every time');
	is($both_ran, 0, 'never both');
	is($none_ran, 0, 'never neither');
	is($clean_refusals, $PAIRS, 'each other one exited 1 saying so');
};

subtest 'the lock file is left in place and reused' => sub {
	my $socket = "$tmp/reuse.ipc";
	my $d = start_daemon(socket => $socket);
	ok(-f "$socket.lock", 'PATH.lock exists while running');
	is($d->stop, 0, 'exit status 0');
	ok(!-e $socket, 'socket removed');
	ok(-f "$socket.lock", 'PATH.lock left in place');
	$d = start_daemon(socket => $socket);
	ok($d->client->call_final('status')->{finished}, 'a new daemon takes it');
	is($d->stop, 0, 'exit status 0');
};

subtest 'a lock held by someone else refuses start-up without touching the socket path' => sub {
	my $socket = "$tmp/held.ipc";
	open(my $lock, '>', "$socket.lock") or die;
	flock($lock, 2 | 4) or die "flock: $!";    # LOCK_EX | LOCK_NB
	my $d = start_daemon(socket => $socket, no_wait => 1);
	my $status = SupTest::reap_pid($d->pid, 10);
	is($status >> 8, 1, 'exit status 1');
	like($d->log, qr/another daemon is starting there \(\Q$socket\E\.lock is locked\)/, 'says why');
	ok(!-e $socket, 'no socket made');
	close $lock;
};

done_testing();
