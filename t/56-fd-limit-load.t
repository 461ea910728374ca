#!/usr/bin/perl
# At the fd limit under load: with 64 fds and 110 peers, the daemon serves
# the connections it has, leaves the rest in the listen backlog without
# spinning, and takes them as others leave, so every call is still
# answered exactly once; afterwards its fds are back where they were.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use SupTest;

my $stress = "$FindBin::Bin/stress";
plan skip_all => "t/stress not built (make t/stress)" unless -x $stress;
plan skip_all => 'prlimit(1) not found' unless grep { -x "$_/prlimit" } split /:/, $ENV{PATH};

local $ENV{SUPERVISORD_WRAPPER} = join(' ', 'prlimit', '--nofile=64:64', $ENV{SUPERVISORD_WRAPPER} // ());
my $d = start_daemon(log_level => 'info');
my $c = $d->client;
ok($c->call_final('status')->{finished}, 'served under a 64 fd limit');
my $fds_before = $d->fd_count;

my $out = `$stress @{[ $d->socket ]} 100 10 4 7`;
my $status = $? >> 8;
my %f = $out =~ /(\w+)=(\d+)/g;
is($status, 0, 'every call answered once, nothing unexpected') or diag($out);
is($f{missing}, 0, 'no call left without a final reply');
cmp_ok($f{calls}, '>', 1000, "calls made ($f{calls})");
like($d->log, qr/not accepting for now: out of resources/, 'the daemon ran out of fds and said so');
ok(wait_until(sub { $d->fd_count == $fds_before }, 10), "fd count back to $fds_before")
    or diag('fds: ' . $d->fd_count);
my $fresh = $d->client;
ok($fresh->call_final('status')->{finished}, 'a new client is served after the crowd');
ok($c->call_final('status')->{finished}, 'and the first one still is');
$fresh->close;
$c->close;
is($d->stop, 0, 'clean exit');
done_testing();
