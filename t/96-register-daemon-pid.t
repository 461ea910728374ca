#!/usr/bin/perl
# register and update (SPEC 3): the process that started supervisord may
# well be a peer (the reference's group master is), and the daemon is its
# descendant; a claim of the daemon's own pid is refused all the same, or
# a monitor acting on it would make the daemon signal itself.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use SupTest;

my $d = start_daemon(args => ['--restart-target=none']);
my $c = $d->client;
my $r = $c->call_final('register', state => { name => 'parent', process_id => $d->pid });
ok($r->{failed} && $r->{finished}, 'register claiming the daemon\'s pid: refused') or diag explain $r;
like($r->{error} // '', qr/^Refusing process_id \d+: it is supervisord itself/, 'saying why');

$r = $c->call_final('register', state => { name => 'parent' });
ok($r->{connection_id}, 'registering as itself works');
$r = $c->call_final('update', state => { process_id => $d->pid });
ok($r->{failed}, 'update claiming the daemon\'s pid: refused');
like($r->{error} // '', qr/it is supervisord itself/, 'saying why');

my $s = $c->call_final('status');
is($s->{connections}[0]{process_id}, $$, 'the registration watches the peer');
ok($d->alive, 'daemon still running');
$c->close;
is($d->stop, 0, 'clean exit');
done_testing();
