#!/usr/bin/perl
# The client and the wrapper under hostile conditions: memory_dump paths
# with symlinks or outside --dump-dir, a full disk, a socket owned by
# someone else, a stopped child and TERM, and status replies nested deeper
# than cJSON's default limit.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use SupTest;
use WorkerTest;

my $d = start_daemon();
my $sock = $d->socket;
my $dir = scratch_dir();
my $dumps = "$dir/dumps";
mkdir $dumps or die;
mkdir "$dumps/sub" or die;
mkdir "$dir/secret" or die;
symlink("$dir/secret", "$dumps/link") or die;

sub dump_with {
	my ($id, $path) = @_;
	my $c = $d->client;
	my $r = $c->call_final('forward', connection_id => $id,
	    operation => { do => 'memory_dump', path => $path });
	$c->close;
	return $r;
}

for my $mode ('openat2', 'walk') {
	subtest "memory_dump paths ($mode)" => sub {
		local $ENV{SUPERVISORD_NO_OPENAT2} = 1 if $mode eq 'walk';
		my $w = start_worker($sock, '-n', "dumper-$mode", '--dump-dir', $dumps, '--', 'sleep', '300');
		my $e = wait_for_worker($d, "dumper-$mode");
		ok($e, 'registered') or return;
		my $id = $e->{connection_id};
		my $r = dump_with($id, "sub/$mode.smaps");
		ok(!$r->{failed}, 'a relative path beneath --dump-dir') or diag explain $r;
		is($r->{path}, "$dumps/sub/$mode.smaps", 'replies with the absolute path');
		like(slurp("$dumps/sub/$mode.smaps"), qr/^Rss:/m, 'written');
		$r = dump_with($id, "$dumps/$mode.abs");
		ok(!$r->{failed} && -s "$dumps/$mode.abs", 'an absolute path beneath --dump-dir');
		$r = dump_with($id, "link/$mode.smaps");
		like($r->{error}, qr/^Refused link\/$mode.smaps: a component of the path is a symlink/, 'a symlinked directory is refused');
		ok(!-e "$dir/secret/$mode.smaps", 'nothing written through it');
		$r = dump_with($id, "../secret/$mode.smaps");
		like($r->{error}, qr/^Refused \.\.\/secret\/$mode.smaps: dump paths must lie beneath \Q$dumps\E/, '.. out of it is refused');
		$r = dump_with($id, "$dir/secret/$mode.smaps");
		like($r->{error}, qr/must lie beneath/, 'an absolute path elsewhere is refused');
		ok(!-e "$dir/secret/$mode.smaps", 'nothing written there');
		$r = dump_with($id, "sub/$mode.smaps");
		like($r->{error}, qr/^File exists: .*never overwrites/, 'an existing file is never replaced');
		kill 'TERM', $w;
		reap_pid($w, 10);
	};
}

subtest 'memory_dump on a full disk removes the partial file and says so' => sub {
	my $small = "$dir/small";
	mkdir $small or die;
	plan skip_all => 'cannot mount a small tmpfs here (needs root)'
	    unless system('mount', '-t', 'tmpfs', '-o', 'size=8k', 'tmpfs', $small) == 0;
	my $w = start_worker($sock, '-n', 'fulldisk', '--dump-dir', $small, '--', 'perl', '-e', 'sleep 300');
	my $e = wait_for_worker($d, 'fulldisk');
	my $r = dump_with($e->{connection_id}, 'big.smaps');
	like($r->{error}, qr/No space left on device \(the disk is full\); the partial dump was removed$/, 'says so');
	ok(!-e "$small/big.smaps", 'no partial file left');
	kill 'TERM', $w;
	reap_pid($w, 10);
	system('umount', $small);
};

subtest 'a socket owned by another user is refused, naming the owner' => sub {
	my $other = getpwnam('nobody');
	plan skip_all => 'needs root and a user nobody' unless $> == 0 && defined $other;
	chown($other, -1, $sock) or die "chown: $!";
	my ($rc, $out, $err) = run_client($sock, 'status');
	is($rc, 1, 'status refuses: exit 1');
	# A static build names the uid only: it carries no passwd file reader.
	like($err, qr/socket \Q$sock\E is owned by (?:nobody \(uid $other\)|uid $other), not by root or by us; refusing to use it/, 'names the owner');
	($rc) = run_client($sock, 'status', '--any-owner');
	is($rc, 0, '--any-owner overrides');
	my $log = "$dir/squat.log";
	my $w = start_worker($sock, '-n', 'careful', '--', 'sleep', '300', { log => $log });
	ok(wait_until(sub { slurp($log) =~ /owned by (?:nobody|uid $other)/ }, 5), 'the wrapper refuses too, and says why');
	ok(!grep({ ($_->{state}{name} // '') eq 'careful' } status_entries($d)), 'and does not register');
	kill 'TERM', $w;
	reap_pid($w, 10);
	my $w2 = start_worker($sock, '-n', 'trusting', '--any-owner', '--', 'sleep', '300');
	ok(wait_for_worker($d, 'trusting'), 'worker --any-owner registers');
	kill 'TERM', $w2;
	reap_pid($w2, 10);
	chown(0, -1, $sock);
};

subtest 'TERM to the wrapper of a stopped child ends it (CONT follows)' => sub {
	my $w = start_worker($sock, '-n', 'frozen', '--', 'sleep', '300');
	my $e = wait_for_worker($d, 'frozen');
	my ($rc) = run_client($sock, 'signal', 'frozen', 'STOP');
	is($rc, 0, 'STOP forwarded');
	ok(wait_until(sub { proc_state($e->{process_id}) eq 'T' }, 5), 'the child is stopped');
	kill 'TERM', $w;
	is(exit_code(reap_pid($w, 5)), 143, 'the wrapper exits with the child, killed by TERM');
	ok(wait_until(sub { proc_state($e->{process_id}) =~ /^Z?$/ }, 5), 'the child is gone');
};

subtest 'status parses a reply nested deeper than cJSON takes by default' => sub {
	my $c = $d->client;
	my $deep = ('{"a":' x 998) . '1' . ('}' x 998);
	$c->send_raw('{"id":2,"do":"register","state":{"name":"deep","nest":' . $deep . "}}\n");
	my $r = $c->recv(5);
	plan skip_all => 'the daemon refuses deep states: ' . ($r->{error} // '?') if $r->{failed};
	my ($rc, $out, $err) = run_client($sock, 'status', 'deep');
	is($rc, 0, 'exit 0') or diag $err;
	like($out, qr/^\w{8}\s+deep\s+\d+\s+running/m, 'the worker is listed');
	$c->close;
};

is($d->stop, 0, 'the daemon stops cleanly');
done_testing();
