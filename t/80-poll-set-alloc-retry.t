#!/usr/bin/perl
# Fault injection (issue 9.9): when the poll set cannot grow, the connections
# left out of it cannot wake the loop; a timer retries, so a new connection
# is served as soon as memory is there again, not when another one arrives.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use SupTest;

my $shim = "$FindBin::Bin/failalloc.so";
plan skip_all => "$shim not built (make t/failalloc.so)" unless -f $shim;
plan skip_all => 'the wrapper does its own allocation' if $ENV{SUPERVISORD_WRAPPER};

my $dir = File::Temp::tempdir('supervisord-pollset-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $failing = "$dir/failing";
open(my $f, '>', $failing) or die;
close $f;
# The first growth of the poll set: 64 entries of struct pollfd (8 bytes).
local $ENV{LD_PRELOAD} = $shim;
local $ENV{FAILALLOC_REALLOC_SIZE} = 64 * 8;
local $ENV{FAILALLOC_WHILE} = $failing;
local $ENV{ASAN_OPTIONS} = join(':', grep { defined } $ENV{ASAN_OPTIONS}, 'verify_asan_link_order=0');
my $d = start_daemon(dir => $dir);
delete $ENV{LD_PRELOAD};

my $c = $d->client;
$c->send({ id => 2, do => 'status' });
my $shim_works = wait_until(sub { $d->log =~ /out of memory for the poll set/ }, 5);
plan skip_all => 'the shim does not reach this binary (static?)' unless $shim_works;
unlink $failing;
my $reply = $c->recv(5);
ok($reply && $reply->{finished}, 'served once memory is there again, with nothing else happening');
ok(wait_until(sub { $d->log =~ /poll set grown again; serving all 1 connections/ }), 'says so');
is(() = $d->log =~ /out of memory for the poll set/g, 1, 'the failure logged once');
is($d->stop, 0, 'exit status 0');

done_testing();
