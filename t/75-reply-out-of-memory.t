#!/usr/bin/perl
# Issue 9.9: an allocation failure while parsing a worker's reply fails that
# forward for its caller with "Out of memory"; the caller does not wait on a
# reply that was lost, and the target is not told its reply was bad.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use Test::More;
use SupTest;

my $SIZE = 777_777;    # the reply's string, which cJSON copies: malloc(SIZE + 2) fails
my $dir = tempdir('supervisord-oom-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $cc = $ENV{CC} // 'cc';
plan skip_all => 'sanitizers and valgrind bring their own malloc'
    if $ENV{SUPERVISORD_WRAPPER} || index(slurp(binary()), '__asan_init') >= 0;
plan skip_all => 'no C compiler to build the malloc shim'
    if system("$cc -shared -fPIC -o $dir/failmalloc.so $FindBin::Bin/lib/failmalloc.c 2>/dev/null") != 0;
plan skip_all => 'the malloc shim needs glibc (__libc_malloc)'
    if system("nm -D $dir/failmalloc.so 2>/dev/null | grep -q __libc_malloc") != 0;

my $d;
{
	local $ENV{LD_PRELOAD} = "$dir/failmalloc.so";
	local $ENV{FAIL_MALLOC_SIZE} = $SIZE + 2;
	$d = start_daemon();
}
plan skip_all => 'the malloc shim is not loaded (a static build?)'
    unless slurp('/proc/' . $d->pid . '/maps') =~ /failmalloc\.so/;
my $w = $d->client;
my $wid = $w->call_final('register')->{connection_id};
my $c = $d->client;
$c->send({ id => 2, do => 'forward', connection_id => $wid, operation => { do => 'x' } });
my $call_id = $w->recv->{id};
# A name written with an escape: the reply is parsed into a tree, not only scanned.
$w->send_raw(qq({"id":$call_id,"finished":true,"\\u0073":") . ('s' x $SIZE) . qq("}\n));
my $r = $c->recv(5);
ok($r && $r->{failed} && $r->{finished}, 'the caller gets a final failure');
is($r->{id}, 2, 'under its id');
is($r->{error}, 'Out of memory', 'saying what happened');
is($r->{connection_id}, $wid, 'naming the target');
ok($w->quiet(0.3), 'the target is not told its reply was bad');
like($d->log, qr/out of memory parsing a message/, 'logged');
# The target and the caller carry on.
$c->send({ id => 4, do => 'forward', connection_id => $wid, operation => { do => 'x' } });
$call_id = $w->recv->{id};
$w->send_raw(qq({"id":$call_id,"finished":true,"ok":1}\n));
is($c->recv_line(5), '{"id":4,"finished":true,"ok":1}', 'the next forward is relayed');
is($d->stop, 0, 'SIGTERM: exit status 0');
done_testing();
