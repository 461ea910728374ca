#!/usr/bin/perl
# With /proc mounted hidepid, a daemon that is not root cannot see its
# peers: register says so and how to fix it, instead of claiming the
# peer "has exited". Here the daemon runs as nobody in a private mount
# namespace with its own hidepid /proc, and the peer (this test) as root.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use Test::More;
use SupTest;

my ($unshare, $setpriv) = map { my $n = $_; (grep { -x } map { "$_/$n" } split /:/, $ENV{PATH})[0] }
    qw(unshare setpriv);
my @nobody = getpwnam('nobody');
plan skip_all => 'needs root, unshare, setpriv and a nobody user'
    unless $> == 0 && $unshare && $setpriv && @nobody;
system("$unshare -m sh -c 'mount -t proc -o hidepid=invisible proc /proc' 2>/dev/null") == 0
    or plan skip_all => 'cannot mount a hidepid /proc in a mount namespace here';

my $dir = tempdir('supervisord-test-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0777, $dir;
open(my $f, '>', "$dir/hidden-proc") or die;
print $f <<"SH";
#!/bin/sh
mount -t proc -o hidepid=invisible proc /proc || exit 97
exec $setpriv --reuid=$nobody[2] --regid=$nobody[3] --clear-groups "\$@"
SH
close $f;
chmod 0755, "$dir/hidden-proc";
local $ENV{SUPERVISORD_WRAPPER} = join(' ', $unshare, '-m', '--propagation', 'private',
    "$dir/hidden-proc", $ENV{SUPERVISORD_WRAPPER} // ());
my $d = start_daemon(dir => $dir);
my $c = $d->client;

for my $state ({ name => 'hidden' }, { process_id => $$ }) {
	my $r = $c->call_final('register', state => $state);
	my $what = $state->{process_id} ? 'with a claim' : 'without a claim';
	ok($r->{failed}, "register $what refused: the peer cannot be checked");
	unlike($r->{error} // '', qr/has exited/, "$what: not the false 'has exited'");
	like($r->{error} // '', qr/^Cannot verify the process that connected \(pid $$\): \/proc hides it from supervisord \(\/proc is mounted with hidepid=invisible\); run supervisord as root, or mount \/proc with gid= a group supervisord is in, or without hidepid$/,
	    "$what: says what is wrong and how to fix it");
}
is_deeply($c->call_final('status')->{connections}, [], 'nothing registered');
is($d->stop, 0, 'daemon stops cleanly');

done_testing();
