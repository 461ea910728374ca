#!/usr/bin/perl
# The client prints what peers registered (names, states, commands) to a
# terminal: nothing a terminal acts on goes out raw (C0 and C1 controls,
# bidirectional overrides), and the table's columns are terminal columns,
# so wide characters keep it aligned and within 80 columns.
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Encode qw(decode);
use SupTest;
use WorkerTest;

my $d = start_daemon(args => ['--restart-target=none']);
my $sock = $d->socket;
my @names = ("esc\e[31mred", "bidi\x{202e}txet", "c1\x{9b}2J", "名前名前名前名前名前名前-wide", "ok");
my @peers;
for my $name (@names) {
	my $p = $d->client;
	$p->send_raw(JSON::PP->new->utf8->encode({ id => 2, do => 'register', state => { name => $name,
	    status => 'running', command => ['sh', '-c', "echo \e]0;title\a$name"] } }) . "\n");
	my $r = $p->recv;
	ok($r->{connection_id}, "registered a peer named with ".length($name)." characters");
	push @peers, $p;
}

# Terminal controls: ESC, BEL, CSI (U+009B) and the bidi override U+202E.
sub unsafe { my ($text) = @_; return $text =~ /[\x00-\x09\x0b-\x1f\x7f]|\x{202e}|[\x{80}-\x{9f}]/ }

my ($rc, $out) = run_client($sock, 'status');
my $text = decode('UTF-8', $out);
ok(!unsafe($text), 'status: no control character, C1 control or bidi override raw') or diag explain $text;
my @lines = split /\n/, $text;
my @rows = grep { !/workers registered/ } @lines;
my $over = grep { width($_) > 80 } @lines;
is($over, 0, 'status: every line within 80 terminal columns');
# The PID column ends at the same column on every row: widths count columns, not bytes.
my %ends;
for my $row (@rows) {
	next unless $row =~ /^(.*?\S)\s+(?:-|\d+)\s{2}(?:running|STATE|PID)/ || $row =~ /^(.*PID)/;
	my ($before) = $row =~ /^(.*?(?:PID|\s-|\s\d+))\s{2}\S/;
	$ends{width($before)}++ if defined $before;
}
is(scalar(keys %ends), 1, 'status: columns aligned whatever the names hold') or diag explain [\%ends, @rows];

($rc, $out) = run_client($sock, 'status', '--wide');
ok(!unsafe(decode('UTF-8', $out)), 'status --wide: commands shown without raw controls');

($rc, $out) = run_client($sock, 'events', '--backlog', '64', { timeout => 1 });
$text = decode('UTF-8', $out);
like($text, qr/registered/, 'events: the backlog is shown');
ok(!unsafe($text), 'events: no raw controls') or diag explain $text;

# Prometheus text escapes only \\, " and newline in a label; the rest go out as '?'.
($rc, $out) = run_client($sock, 'metrics');
$text = decode('UTF-8', $out);
like($text, qr/^supervisord_worker_up\{name="esc\?\[31mred",/m, 'metrics: a label with ESC in its name');
ok(!unsafe($text), 'metrics: no raw controls in labels') or diag explain $text;

my $err;
($rc, $out, $err) = run_client($sock, 'stop', 'no-such-worker');
isnt($rc, 0, 'an unknown worker: an error');
$text = decode('UTF-8', $err);
like($text, qr/registered:/, 'listing the registered ones');
ok(!unsafe($text), 'without raw controls') or diag explain $text;

sub width {
	my ($s) = @_;
	my $w = 0;
	$w += /[\x{1100}-\x{115f}\x{2e80}-\x{a4cf}\x{ac00}-\x{d7a3}\x{f900}-\x{faff}\x{ff00}-\x{ff60}]/ ? 2 : 1
	    for split //, $s;
	return $w;
}

$_->close for @peers;
is($d->stop, 0, 'clean exit');
done_testing();
