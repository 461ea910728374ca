#!/usr/bin/perl
# Randomness (SPEC 1): connection ids come from getrandom(2), so the daemon
# keeps no /dev/urandom open and starts and serves in a root where
# /dev/urandom is missing or gives nothing.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use Test::More;
use SupTest;

my $UUID = qr/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

subtest 'no /dev/urandom held open' => sub {
	my $d = start_daemon();
	my $c = $d->client;
	like($c->call_final('register')->{connection_id} // '', $UUID, 'a version 4 UUID');
	opendir(my $dh, '/proc/' . $d->pid . '/fd') or die "fd list: $!";
	my @targets = map { readlink('/proc/' . $d->pid . "/fd/$_") // '' } grep { /^\d+$/ } readdir($dh);
	ok(!grep({ m{/dev/u?random} } @targets), 'no random device among its fds') or diag explain \@targets;
	$c->close;
	is($d->stop, 0, 'exit status 0');
};

subtest '/dev/urandom that gives nothing' => sub {
	plan skip_all => 'needs root and unshare(1) for a private mount namespace'
	    unless $> == 0 && system('unshare -m true 2>/dev/null') == 0;
	my $dir = tempdir('supervisord-urandom-XXXXXX', TMPDIR => 1, CLEANUP => 1);
	open(my $fh, '>', "$dir/empty") or die;
	close $fh;
	my $d = start_daemon(dir => $dir, prefix => ['unshare', '-m', 'sh', '-c',
	    'mount --bind "$0" /dev/urandom && exec "$@"', "$dir/empty"]);
	my $c = $d->client;
	for (1 .. 40) {    # past one batch of random bytes
		my $id = $c->call_final('register')->{connection_id} // '';
		like($id, $UUID, 'registered') or last;
	}
	$c->close;
	is($d->stop, 0, 'exit status 0');
};

done_testing();
