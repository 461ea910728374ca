#!/usr/bin/perl
# The status table holds 80 columns whatever a peer publishes: a long
# state, an absurd restart count or start time, a huge pid-like figure.
# Every column but the name has a widest; a longer cell is cut with '~'.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use SupTest;
use WorkerTest;

my $d = start_daemon(args => ['--restart-target=none']);
my @peers;
for my $state ({ name => 'far', restarts => 1e300, started_at => -1e300, status => 'running' },
    { name => 'future', started_at => 1e300, status => 'running' },
    { name => 'long', restarts => -5, status => 'x' x 70 },
    { name => 'words', restarts => 'many', started_at => 'yesterday' }) {
	my $p = $d->client;
	ok($p->call_final('register', state => $state)->{connection_id}, "registered $state->{name}");
	push @peers, $p;
}
my ($rc, $out, $err) = run_client($d->socket, 'status');
is($rc, 3, 'exit 3: one is not running');
my @lines = split /\n/, $out;
is(scalar(grep { length($_) > 80 } @lines), 0, 'every line within 80 columns') or diag $out;
like($out, qr/^\S+\s+far\s+\d+\s+running\s+-\s/m, 'an absurd start time: uptime unknown');
like($out, qr/^\S+\s+long\s+-\s+x{8}~/m, 'a long state: cut, the cut shown');
like($out, qr/^\S+\s+far\s.*\s\d{7}~/m, 'an absurd restart count: cut');
($rc, $out) = run_client($d->socket, 'status', '--wide');
like($out, qr/x{60}/, '--wide is not cut to 80 columns');

$_->close for @peers;
is($d->stop, 0, 'clean exit');
done_testing();
