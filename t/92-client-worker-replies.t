#!/usr/bin/perl
# What a worker answers to stop, signal or a failed operation goes to the
# operator's terminal through the client: no control sequence goes out raw,
# whatever the worker (any peer that registered a name) puts in its reply.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use SupTest;
use WorkerTest;

my $d = start_daemon(args => ['--restart-target=none']);
my $sock = $d->socket;
my $evil = $d->client;
$evil->call_final('register', state => { name => 'evil', status => "run\e[2Jning" });

# Runs the client with args while the fake worker answers one forwarded call with $reply.
sub answered {
	my ($reply, @args) = @_;
	my $dir = scratch_dir();
	state_counter();
	my ($out, $err) = ("$dir/r92.out.$main::n", "$dir/r92.err.$main::n");
	my $pid = spawn([SupTest::binary(), '-s', $sock, @args], stdout => $out, stderr => $err);
	my $req = $evil->recv(20);
	ok($req && $req->{do}, "the worker is asked: " . ($req->{do} // 'nothing'));
	$evil->send({ %$reply, id => $req->{id}, finished => JSON::PP::true }) if $req;
	my $rc = exit_code(reap_pid($pid, 30));
	kill 'KILL', $pid unless defined $rc;
	return ($rc, slurp($out) . slurp($err));
}
sub state_counter { $main::n++ }
sub raw_control { $_[0] =~ /[\x00-\x09\x0b-\x1f\x7f]/ }

my ($rc, $text) = answered({ failed => JSON::PP::true, error => "no\e]0;owned\a",
    "k\e[1m" => "v\e[2J", figure => 1 }, 'stop', 'evil');
is($rc, 1, 'a failed stop: exit 1');
like($text, qr/no\?\]0;owned\?/, 'the error is shown, its controls as ?');
ok(!raw_control($text), 'nothing raw') or diag explain $text;

($rc, $text) = answered({ signal => "HUP\e[2J", process_id => 5 }, 'signal', 'evil', 'HUP');
is($rc, 0, 'signal: exit 0');
like($text, qr/sent HUP\?\[2J to pid 5/, 'the worker\'s signal name shown, controls as ?');
ok(!raw_control($text), 'nothing raw') or diag explain $text;

($rc, $text) = answered({ process_id => 5, last_exit => { signal => "TERM\e[2J" } }, 'stop', 'evil');
is($rc, 0, 'stop: exit 0');
like($text, qr/was killed by TERM\?\[2J/, 'how it ended, controls as ?');
ok(!raw_control($text), 'nothing raw') or diag explain $text;

my $err;
(undef, undef, $err) = run_client($sock, 'wait', '--timeout', '0.3', 'evil');
like($err, qr/evil \(run\?\[2Jning\)/, 'wait names the state it saw, controls as ?');
ok(!raw_control($err), 'nothing raw') or diag explain $err;

$evil->close;
is($d->stop, 0, 'clean exit');
done_testing();
