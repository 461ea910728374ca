#!/usr/bin/perl
# The client and the worker against a scripted peer: the status table with
# monitor sections, framing (CRLF, blank lines), messages that are not ours,
# failures without an id, and a worker whose daemon stops reading its
# replies (bounded output: it drops the connection and reconnects).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Socket::UNIX;
use POSIX ();
use Socket qw(SOCK_STREAM);
use Time::HiRes qw(sleep);
use SupTest;
use WorkerTest;

my $dir = scratch_dir();
my @fakes;

# A stand-in daemon: handler($socket, $serial) runs for each connection.
sub fake_daemon {
	my ($path, $handler) = @_;
	unlink $path;
	my $listener = IO::Socket::UNIX->new(Type => SOCK_STREAM, Local => $path, Listen => 16)
	    or die "listen $path: $!";
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		$SIG{TERM} = 'DEFAULT';
		my $serial = 0;
		while (my $c = $listener->accept) {
			$handler->($c, ++$serial);
			close $c;
		}
		POSIX::_exit(0);
	}
	close $listener;
	push @fakes, $pid;
	return $pid;
}

END { my $status = $?; kill "TERM", @fakes if @fakes; waitpid($_, 0) for @fakes; $? = $status; }

sub reply_with {
	my (@lines) = @_;
	return sub {
		my ($c) = @_;
		my $request = <$c>;
		print $c $_ for @lines;
		shutdown($c, 1);    # then hang up, and wait until the client is done with us
		1 while defined(<$c>);
	};
}

subtest 'the status table shows the monitors\' figures' => sub {
	my $sock = "$dir/table.ipc";
	fake_daemon($sock, reply_with(
	    '{"id":2,"memory_monitor":{"total_size":3145728,"total_size_limit":null,"free_size_minimum":104857600,'
	    . '"processes":{"101":{"process_id":101,"current_size":1048576}}}}' . "\r\n",
	    "\r\n",
	    '{"id":3,"do":"info"}' . "\n",
	    '{"id":98,"finished":true}' . "\n",
	    '{"id":2,"process_monitor":{"ppid":1,"metrics":{"101":{"processor_utilization":12.5,"resident_size":1048576},'
	    . '"102":{"processor_utilization":3,"resident_size":2097152}}}}' . "\n",
	    '{"id":2,"finished":true,"connections":['
	    . '{"connection_id":"aaa","process_id":101,"state":{"name":"web","command":"httpd -f"}},'
	    . '{"connection_id":"bbb","process_id":102,"state":{"name":"db","command":["postgres","-D","/db"]}},'
	    . '{"connection_id":"ccc","process_id":null,"state":{}}]}' . "\r\n"));
	my ($rc, $out, $err) = run_client($sock, 'status');
	is($rc, 0, 'exit 0');
	is($out, <<'TABLE', 'table') or diag $err;
ID   NAME  PID  STATE    UPTIME  RESTARTS  MEMORY  CPU%
aaa  web   101  running  -              -    1.0M  12.5
bbb  db    102  running  -              -    2.0M   3.0
ccc  -       -  running  -              -       -     -
memory monitor: total 3.0M, total limit -, free minimum 100.0M
3 workers registered
TABLE
	($rc, $out) = run_client($sock, 'status', '--json');
	my @lines = split /\n/, $out;
	is(scalar @lines, 3, '--json: our three replies, nothing else');
	like($lines[0], qr/^\{"id":2,"memory_monitor"/, 'as received');
	unlike($out, qr/\r/, 'without carriage returns');
};

subtest 'a failure without an id ends the call' => sub {
	my $sock = "$dir/noid.ipc";
	fake_daemon($sock, reply_with('{"finished":true,"failed":true,"error":"Message too long"}' . "\n"));
	my ($rc, $out, $err) = run_client($sock, 'call', '{"do":"status"}');
	is($rc, 1, 'exit 1');
	is($err, "supervisord: call: Message too long\n", 'says why');
};

subtest 'a daemon that hangs up early' => sub {
	my $sock = "$dir/hangup.ipc";
	fake_daemon($sock, reply_with('{"id":2,"memory_monitor":{}}' . "\n"));
	my ($rc, $out, $err) = run_client($sock, 'status');
	is($rc, 1, 'exit 1');
	like($err, qr/closed the connection before the call finished/, 'says so');
};

subtest 'a worker whose daemon stops reading drops the connection and reconnects' => sub {
	my $sock = "$dir/flood.ipc";
	my $seen = "$dir/flood.seen";
	fake_daemon($sock, sub {
		my ($c, $serial) = @_;
		my $register = <$c>;
		open(my $fh, '>>', $seen) or die;
		print $fh "connection $serial: $register";
		close $fh;
		my $id = ($register =~ /"id":(\d+)/)[0];
		print $c qq({"id":$id,"finished":true,"connection_id":"c$serial"}\n);
		return if $serial > 1;
		# Ask for far more than the wrapper may queue, and read none of it.
		local $SIG{PIPE} = 'IGNORE';
		my $requests = join('', map { '{"id":' . (2 * $_ + 1) . ',"do":"info"}' . "\n" } 1 .. 40000);
		syswrite($c, $requests) // last;
		# Then drain: the wrapper must have hung up.
		1 while sysread($c, my $chunk, 65536);
	});
	my $log = "$dir/flood.log";
	my $w = start_worker($sock, '-n', 'flooded', '--', 'sleep', '300', { log => $log });
	ok(wait_until(sub { slurp($seen) =~ /^connection 2: .*"name":"flooded"/m }, 20),
	    'reconnected and registered again') or diag slurp($seen);
	like(slurp($log), qr/the daemon is not reading \(over 4194304 bytes pending\); reconnecting/,
	    'logged why');
	my $rss = (slurp("/proc/$w/status") =~ /^VmRSS:\s+(\d+) kB/m)[0];
	SKIP: {
		skip "memory figures are not the wrapper's own here", 1 unless memory_judged() && defined $rss;
		cmp_ok($rss, '<', 16 * 1024, 'the wrapper\'s memory stayed bounded');
		note "wrapper resident size after the flood: $rss kB";
	}
	kill 'TERM', $w;
	is(exit_code(reap_pid($w, 10)), 143, 'stops on TERM');
};

subtest 'a worker skips an over-long line and serves the next request' => sub {
	my $sock = "$dir/long.ipc";
	my $result = "$dir/long.result";
	fake_daemon($sock, sub {
		my ($c) = @_;
		my $register = <$c>;
		print $c qq({"id":2,"finished":true,"connection_id":"x"}\n);
		$c->autoflush(1);
		# 1.5 MiB without a newline, in pieces, then the rest of that line and a real request.
		print $c '{"id":3,"do":"info","junk":"';
		print $c 'x' x 65536 for 1 .. 24;
		print $c qq("}\r\n\n{"id":5,"do":"info"}\n);
		my $reply = <$c>;
		open(my $fh, '>', $result) or die;
		print $fh $reply // '';
		close $fh;
		1 while defined(<$c>);    # hold the connection while the test looks
	});
	my $log = "$dir/long.log";
	my $w = start_worker($sock, '-n', 'long', '--', 'sleep', '300', { log => $log });
	ok(wait_until(sub { -s $result }, 10), 'answered after the long line');
	my $reply = eval { json()->decode(slurp($result)) } // {};
	is($reply->{id}, 5, 'the request after the long line');
	ok($reply->{finished} && !$reply->{failed}, 'served');
	like(slurp($log), qr/skipped a message longer than 1048576 bytes/, 'logged the skip');
	kill 'TERM', $w;
	is(exit_code(reap_pid($w, 10)), 143, 'stops on TERM');
};

done_testing();
