#!/usr/bin/perl
# Replies are written by the daemon's own JSON writer: whatever a worker
# put in its state comes back in status exactly, escapes, nesting and
# numbers included, and ids are echoed verbatim.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP;
use SupTest;

my $d = start_daemon();
my $w = $d->client;
my %state = (
	quote => 'say "hi"', backslash => 'a\\b', controls => "t\tn\nr\rb\bf\f\x01\x1f",
	unicode => "caf\x{e9} \x{263a} \x{1F600}", empty => '', slash => '</script>',
	numbers => [0, -1, 42, 4294967296, 9007199254740991, -9007199254740991, 0.5, -2.25,
	    1e-7, 1.5e300, 123456789.125],
	nested => { a => [ { b => [ [], {} ] } ], t => JSON::PP::true, f => JSON::PP::false, n => undef },
	"key \"with\" \\ escapes\n" => 1,
);
# UTF-8 on the wire, both ways.
my $J = JSON::PP->new->utf8->canonical->allow_nonref;
$w->send_raw($J->encode({ id => 2, do => 'register', state => \%state }) . "\n");
my $reg = $J->decode($w->recv_line);
ok($reg->{connection_id}, 'registered');

my $c = $d->client;
$c->send_raw(qq({"id":2,"do":"status"}\n));
my $got = $J->decode($c->recv_line)->{connections}[0]{state};
for my $key (sort keys %state) {
	is_deeply($got->{$key}, $state{$key}, "state '$key' comes back unchanged");
}

# The raw bytes too: control characters are escaped, not sent raw.
$c->send_raw(qq({"id":4,"do":"status"}\n));
my $line = $c->recv_line;
unlike($line, qr/[\x00-\x1f]/, 'no raw control characters on the wire');

for my $id ('"text"', '"with \\"quote\\""', '-3', '7.5', '1e3', '12345678901234') {
	$c->send_raw(qq({"id":$id,"do":"nope"}\n));
	my $reply = $c->recv_line;
	my $decoded = $J->decode($reply);
	is_deeply($decoded->{id}, $J->decode($id), "id $id echoed");
	ok($decoded->{failed} && $decoded->{finished}, "id $id: failure reply");
}
$c->send_raw(qq({"do":"nope"}\n));
my $anon = $J->decode($c->recv_line);
ok(!exists $anon->{id}, 'no id in, no id out');
like($anon->{error}, qr/Unknown operation 'nope'/, 'error text');
is($d->stop, 0, 'clean exit');
done_testing();
