#!/usr/bin/perl
# The operations a worker wrapper answers when the daemon forwards them:
# info, memory_dump (with and without path), thread_dump, memory_sample,
# signal, and a failure for anything else.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use SupTest;
use WorkerTest;

my $d = start_daemon();
my $sock = $d->socket;
# A child with a few threads would need a compiler; perl's own single thread will do.
# The child says when its 4 MB string is built: the sizes below count it.
my $built = "$sock.built";
my $worker = start_worker($sock, '-n', 'ops', '--dump-dir', scratch_dir(), '--state', '{"role":"test"}', '--',
    'perl', '-e', '$x = "y" x 4_000_000; open(my $f, ">", $ARGV[0]) or die; close $f; sleep 300', $built);
my $entry = wait_for_worker($d, 'ops');
ok(wait_until(sub { -e $built }, 10), 'the child has built its string');
ok($entry, 'registered') or BAIL_OUT('no worker');
my ($id, $child) = ($entry->{connection_id}, $entry->{process_id});
is($entry->{state}{role}, 'test', '--state fields are registered');
is($entry->{state}{wrapper_process_id}, $worker, 'the wrapper pid is registered too');

# Forwards one operation; returns every reply.
sub forward {
	my ($op, %opt) = @_;
	my $c = $d->client;
	my @replies = $c->call('forward', connection_id => $id, operation => $op,
	    $opt{timeout} ? (timeout => $opt{timeout}) : ());
	$c->close;
	return @replies;
}

sub forward_final { (forward(@_))[-1] }

subtest 'info' => sub {
	my $r = forward_final({ do => 'info' });
	ok($r->{finished} && !$r->{failed}, 'finished') or diag explain $r;
	is($r->{process_id}, $child, 'the child pid');
	is($r->{name}, 'ops', 'name');
	like($r->{command}, qr/^perl -e /, 'command');
	like($r->{state}, qr/^[RSD]$/, 'state letter');
	is($r->{threads}, 1, 'threads');
	cmp_ok($r->{resident_size}, '>', 4_000_000, 'resident size in bytes');
	cmp_ok($r->{virtual_size}, '>=', $r->{resident_size}, 'virtual size');
	cmp_ok($r->{uptime}, '>=', 0, 'uptime');
	cmp_ok($r->{uptime}, '<', 60, 'uptime is the child\'s');
};

subtest 'memory_dump' => sub {
	my $r = forward_final({ do => 'memory_dump' });
	ok($r->{finished} && !$r->{failed}, 'finished') or diag explain $r;
	is($r->{process_id}, $child, 'the child pid');
	cmp_ok($r->{rss}, '>', 4_000_000, 'rss');
	cmp_ok($r->{private_dirty}, '>', 4_000_000, 'the child\'s string is private dirty memory');
	my @maps = split /\n/, slurp("/proc/$child/maps");
	cmp_ok(abs($r->{map_count} - @maps), '<=', 2, 'map count as in /proc/PID/maps');
	like($r->{source}, qr/^(smaps_rollup|smaps|statm)$/, 'source');
};

subtest 'memory_dump with path writes the full smaps' => sub {
	my $path = scratch_dir() . '/smaps.out';
	my $r = forward_final({ do => 'memory_dump', path => $path });
	ok($r->{finished} && !$r->{failed}, 'finished') or diag explain $r;
	is($r->{path}, $path, 'replies with the path');
	my $text = slurp($path);
	like($text, qr/^Rss:\s+\d+ kB$/m, 'the file holds smaps');
	is($r->{size}, length $text, 'size written');
	is((stat $path)[2] & 0777, 0600, 'mode 0600');
	$r = forward_final({ do => 'memory_dump', path => scratch_dir() . '/no/such/dir/x' });
	ok($r->{failed}, 'an unwritable path fails');
	like($r->{error}, qr/^Cannot write .*No such file or directory/, 'and says why');
	$r = forward_final({ do => 'memory_dump', path => 7 });
	is($r->{error}, "Parameter 'path' of 'memory_dump' must be a string", 'path must be a string');
};

subtest 'memory_dump never overwrites an existing file' => sub {
	my $path = scratch_dir() . '/precious';
	open(my $fh, '>', $path) or die "$path: $!";
	print $fh "keep me\n";
	close($fh);
	my $r = forward_final({ do => 'memory_dump', path => $path });
	ok($r->{failed}, 'dumping onto an existing file fails');
	is($r->{error}, "File exists: $path (memory_dump never overwrites)", 'and says why');
	is(slurp($path), "keep me\n", 'the file is intact');
	my $link = scratch_dir() . '/link-to-precious';
	symlink($path, $link) or die "symlink: $!";
	$r = forward_final({ do => 'memory_dump', path => $link });
	ok($r->{failed}, 'a symlink is not followed');
	is(slurp($path), "keep me\n", 'its target is intact');
};

subtest 'thread_dump' => sub {
	my $r = forward_final({ do => 'thread_dump' });
	ok($r->{finished} && !$r->{failed}, 'finished') or diag explain $r;
	is($r->{thread_count}, 1, 'one thread');
	my $t = $r->{threads}[0];
	is($t->{tid}, $child, 'tid');
	is($t->{name}, 'perl', 'name');
	like($t->{state}, qr/^[RSD]$/, 'state');
	ok(exists $t->{wchan}, 'wchan');
};

subtest 'memory_sample streams samples, then a summary' => sub {
	my @r = forward({ do => 'memory_sample', duration => 0.6, interval => 0.2 });
	my $final = pop @r;
	is(scalar @r, 4, 'four samples: at 0, 0.2, 0.4 and 0.6 s');
	is_deeply([map { $_->{sample} } @r], [1 .. 4], 'numbered');
	ok(!$_->{finished}, 'intermediate') for @r;
	cmp_ok($_->{resident_size}, '>', 4_000_000, 'resident size') for @r;
	ok($final->{finished} && !$final->{failed}, 'then a final reply') or diag explain $final;
	is($final->{samples}, 4, 'sample count');
	cmp_ok($final->{minimum_size}, '<=', $final->{maximum_size}, 'minimum <= maximum');
	is($final->{growth}, $final->{last_size} - $final->{first_size}, 'growth');
	cmp_ok($final->{duration}, '>=', 0.55, 'took the duration');
	my $f = forward_final({ do => 'memory_sample', duration => -1 });
	is($f->{error}, "Parameter 'duration' must be a positive number of seconds", 'bad duration');
	$f = forward_final({ do => 'memory_sample', duration => 1000, interval => 0.001 });
	like($f->{error}, qr/^Too many samples/, 'too many samples');
};

subtest 'samples and other calls interleave' => sub {
	my $c = $d->client;
	$c->send({ id => 10, do => 'forward', connection_id => $id,
	    operation => { do => 'memory_sample', duration => 0.4, interval => 0.2 } });
	$c->send({ id => 12, do => 'forward', connection_id => $id, operation => { do => 'info' } });
	my (%finished, %count);
	while (keys %finished < 2 and defined(my $m = $c->recv(5))) {
		$count{$m->{id}}++;
		$finished{$m->{id}} = $m if $m->{finished};
	}
	is($finished{12}{process_id}, $child, 'info answered while sampling');
	is($finished{10}{samples}, 3, 'sampling finished');
	is($count{10}, 4, 'three samples and a summary');
	$c->close;
};

subtest 'unknown operations and bad parameters fail' => sub {
	my $r = forward_final({ do => 'frobnicate' });
	ok($r->{failed}, 'failed');
	is($r->{error}, "Unknown operation 'frobnicate'", 'names the operation');
	$r = forward_final({ do => 'signal' });
	is($r->{error}, "Missing 'signal' parameter", 'signal needs a signal');
	$r = forward_final({ do => 'signal', signal => 'NOPE' });
	is($r->{error}, "Unknown signal 'NOPE'", 'unknown signal');
};

subtest 'signal' => sub {
	my $r = forward_final({ do => 'signal', signal => 'STOP' });
	ok($r->{finished} && !$r->{failed}, 'finished') or diag explain $r;
	is($r->{signal}, 'STOP', 'names the signal');
	ok(wait_until(sub { proc_state($child) eq 'T' }, 5), 'the child is stopped');
	$r = forward_final({ do => 'signal', signal => 18 });
	is($r->{signal}, 'CONT', 'numbers work');
	ok(wait_until(sub { proc_state($child) ne 'T' }, 5), 'the child runs again');
	$r = forward_final({ do => 'signal', signal => 'TERM' });
	ok($r->{finished} && !$r->{failed}, 'TERM sent');
	is(exit_code(reap_pid($worker, 10)), 143, 'the wrapper exits as its child: 128+15');
};

subtest 'diagnostics of a child that has exited fail cleanly' => sub {
	# The child exits while the wrapper waits to respawn it.
	my $w = start_worker($sock, '-n', 'gone', '--respawn', '--', 'sh', '-c', 'sleep 0.3; exit 4');
	my $e = wait_for_worker($d, 'gone');
	ok($e, 'registered');
	my $c = $d->client;
	my @r;
	ok(wait_until(sub {
		@r = $c->call('forward', connection_id => $e->{connection_id}, operation => { do => 'info' });
		return $r[-1]{failed};
	}, 5), 'info fails once the child has gone');
	like($r[-1]{error}, qr/^(No process is running: process \d+ exited with status 4; it will be restarted|Process \d+ has exited)$/,
	    'and says so') or diag explain \@r;
	for my $op ('memory_dump', 'thread_dump', 'memory_sample') {
		my @s = $c->call('forward', connection_id => $e->{connection_id}, operation => { do => $op });
		ok($s[-1]{failed}, "$op fails too") or diag explain \@s;
	}
	$c->close;
	kill 'TERM', $w;
	is(exit_code(reap_pid($w, 10)), 143, 'TERM while waiting to respawn stops the wrapper: 128+15');
};

subtest 'a sample in progress fails when the child exits' => sub {
	my $w = start_worker($sock, '-n', 'dying', '--', 'sh', '-c', 'sleep 0.5; exit 0');
	my $e = wait_for_worker($d, 'dying');
	my @r = do {
		my $c = $d->client;
		my @x = $c->call('forward', connection_id => $e->{connection_id},
		    operation => { do => 'memory_sample', duration => 5, interval => 0.1 });
		$c->close;
		@x;
	};
	ok($r[-1]{failed}, 'the sample fails') or diag explain $r[-1];
	like($r[-1]{error}, qr/^(Process \d+ exited with status 0|Process \d+ has exited|Connection closed)$/,
	    'saying the process exited');
	is(exit_code(reap_pid($w, 10)), 0, 'the wrapper exits 0 with its child');
};

is($d->stop, 0, 'the daemon stops cleanly');
done_testing();
