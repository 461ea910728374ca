#!/usr/bin/perl
# A status call that cannot write a registration's entry for lack of memory
# fails under its id with "Out of memory", and loses nothing: with memory
# there again, the next status call lists the worker.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use SupTest;

my $shim = "$FindBin::Bin/failalloc.so";
plan skip_all => "$shim not built (make t/failalloc.so)" unless -f $shim;
plan skip_all => 'the wrapper does its own allocation' if $ENV{SUPERVISORD_WRAPPER};

my $dir = File::Temp::tempdir('supervisord-status-oom-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $failing = "$dir/failing";
# lib/jsonw grows a buffer by doubling from 1 KiB. A state of about 4,000
# bytes is kept in 4 KiB, while its status entry (the state and the
# registration's own fields) needs the next step, 8 KiB: that realloc fails.
local $ENV{LD_PRELOAD} = $shim;
local $ENV{FAILALLOC_REALLOC_SIZE} = 8192;
local $ENV{FAILALLOC_WHILE} = $failing;
local $ENV{ASAN_OPTIONS} = join(':', grep { defined } $ENV{ASAN_OPTIONS}, 'verify_asan_link_order=0');
my $d = start_daemon(dir => $dir);
delete $ENV{LD_PRELOAD};
plan skip_all => 'the shim does not reach this binary (static, or emulated?)'
    unless slurp('/proc/' . $d->pid . '/maps') =~ /failalloc\.so/;

# The entry is written when the worker registers, and again by a status
# call that finds none.
open(my $f, '>', $failing) or die "$failing: $!";
close $f;
my $w = $d->client;
my $reg = $w->call_final('register', state => { name => 'big', pad => 'p' x 3950 });
my $wid = $reg->{connection_id};
ok($wid, 'the worker registers all the same') or diag(explain($reg));
my $c = $d->client;
$c->send({ id => 7, do => 'status' });
my $r = $c->recv(5);
unlink $failing;
ok($r && $r->{finished} && $r->{failed}, 'the status call fails');
is($r && $r->{id}, 7, 'under its id');
is($r && $r->{error}, 'Out of memory', 'saying why');
$c->send({ id => 8, do => 'status' });
$r = $c->recv(5);
ok($r && $r->{finished} && !$r->{failed}, 'the next status call, with memory there, succeeds');
ok($r && (grep { $_->{connection_id} eq $wid } @{ $r->{connections} // [] }), 'and lists the worker');
ok($w->quiet(0.2), 'the worker was told nothing');
is($d->stop, 0, 'exit status 0');
done_testing();
