#!/usr/bin/perl
# The daemon starts, answers status over its socket, and stops cleanly.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use SupTest;

my $d = start_daemon();
ok(-S $d->socket, 'socket file exists');
my $c = $d->client;
my $final = $c->call_final('status');
ok($final->{finished}, 'status finishes');
is_deeply($final->{connections}, [], 'no connections registered');
$c->close;
is($d->stop, 0, 'SIGTERM: exit status 0');
ok(!-e $d->socket, 'socket removed on exit');
done_testing();
