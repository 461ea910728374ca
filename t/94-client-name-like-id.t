#!/usr/bin/perl
# WORKER (SPEC 7): a name that is also another worker's id prefix (the
# short id the status table shows) is ambiguous, listing both, rather than
# quietly the named worker: copying an id from the table never reaches
# a worker that merely named itself after it.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use SupTest;
use WorkerTest;

my $d = start_daemon(args => ['--restart-target=none']);
my $sock = $d->socket;
my $real = $d->client;
my $id = $real->call_final('register', state => { name => 'real' })->{connection_id};
my $short = substr($id, 0, 8);
my $impostor = $d->client;
my $imp_id = $impostor->call_final('register', state => { name => $short })->{connection_id};

my ($rc, $out, $err) = run_client($sock, 'forward', '--timeout', '2', $short, '{"do":"info"}');
is($rc, 1, 'a name that is another\'s id prefix: exit 1');
like($err, qr/\Q$short\E is ambiguous: it names 2 workers/, 'ambiguous');
like($err, qr/\Q$id\E/, 'listing the worker whose id it is');
like($err, qr/\Q$imp_id\E/, 'and the one named so');
ok($real->quiet(0.2) && $impostor->quiet(0.2), 'neither was sent anything');

# A full id is still exact, and a name nobody's id starts with still works.
($rc, $out, $err) = run_client($sock, 'status', $id);
is($rc, 0, 'a full id: found') or diag $err;
($rc, $out, $err) = run_client($sock, 'status', 'real');
is($rc, 0, 'a plain name: found') or diag $err;
like($out, qr/^\Q$short\E\S*\s+real\s/m, 'the right one');

$_->close for $real, $impostor;
is($d->stop, 0, 'clean exit');
done_testing();
