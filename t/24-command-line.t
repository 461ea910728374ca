#!/usr/bin/perl
# Command line (SPEC 6): usage errors, help and version, log levels
# (--syslog is t/29),
# and stopping on SIGTERM and SIGINT.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use Test::More;
use SupTest;

my $tmp = tempdir('supervisord-cli-XXXXXX', TMPDIR => 1, CLEANUP => 1);

# Runs the binary to completion; returns (exit status, stdout, stderr).
sub run {
	my (@args) = @_;
	my ($out, $err) = ("$tmp/out", "$tmp/err");
	unlink $out, $err;
	my $pid = spawn([binary(), '-s', "$tmp/never.ipc", @args], stdout => $out, stderr => $err);
	my $status = reap_pid($pid, 10);
	return ($status, slurp($out), slurp($err));
}

subtest 'usage errors: exit status 2 and one line saying what is wrong' => sub {
	my @cases = (
		[['--frobnicate'], qr/unknown option '--frobnicate'/],
		[['-x'], qr/unknown option '-x'/],
		[['--syslog=yes'], qr/option '--syslog=yes' takes no value/],
		[['--log-level'], qr/option '--log-level' needs a value/],
		[['-l'], qr/option '-l' needs a value/],
		[['--max-message', '12Q'], qr/--max-message: '12Q' is not a size/],
		[['--max-message', '0'], qr/--max-message: '0' is not a size/],
		[['--max-buffer', 'lots'], qr/--max-buffer: 'lots' is not a size/],
		[['--max-connections', 'many'], qr/--max-connections: 'many' is not a number/],
		[['--max-connections', '0'], qr/--max-connections: '0' is not a number from 1/],
		[['--max-connections', '-18446744073709551615'], qr/--max-connections: '-18446744073709551615' is not a number from 1/],
		[['--ready-fd', '-1'], qr/--ready-fd: '-1' is not a number from 0/],
		[['--log-level', 'loud'], qr/--log-level: 'loud' is not debug, info, warn or error/],
		[['--restart-target', 'boss'], qr/--restart-target: 'boss' is not parent, group or none/],
		[['--socket-mode', '999'], qr/--socket-mode: '999' is not an octal mode/],
		[['--socket-mode', 'rw'], qr/--socket-mode: 'rw' is not an octal mode/],
		[['--socket-mode', '0400'], qr/--socket-mode: '0400' would lock the daemon's own user out/],
		[['--socket-group', 'no-such-group-here'],
		    qr/--socket-group: (?:no group named 'no-such-group-here'|'no-such-group-here': a static build takes the group's number)/],
		[['--ready-fd', '987'], qr/--ready-fd: 987 is not an open file descriptor/],
		[['--ready-fd', 'x'], qr/--ready-fd: 'x' is not a number/],
		[['frob'], qr/unknown command 'frob'/],
		[['--socket-group', '12x'], qr/--socket-group: '12x' is not a group id/],
		[['--socket-group', '4294967295'], qr/--socket-group: '4294967295' is not a group id/],
	);
	# Every option that takes a value, missing it at the end of the line:
	# musl's getopt leaves optind past argv there, which once crashed the parser.
	for my $short (qw(s M l p)) {
		push @cases, [["-$short"], qr/option '-$short' needs a value/];
		push @cases, [['-d', "-d$short"], qr/option '-$short' needs a value/];
	}
	for my $long (qw(socket monitor log-level pidfile ready-fd socket-mode socket-group
	    restart-target max-message max-buffer max-connections)) {
		push @cases, [["--$long"], qr/option '--$long' needs a value/];
	}
	for my $case (@cases) {
		my ($args, $want) = @$case;
		my ($status, $out, $err) = run(@$args);
		my $name = join(' ', @$args);
		is($status >> 8, 2, "$name: exit status 2");
		like($err, qr/^supervisord: [^\n]*$want[^\n]*\n\z/, "$name: one line");
		is($out, '', "$name: nothing on stdout");
	}
	ok(!-e "$tmp/never.ipc", 'no socket was ever created');
};

subtest "commands' usage errors: the option named as written, on every libc" => sub {
	my @cases = (
		[['status', '-t'], qr/^supervisord: status: option '-t' needs a value \(usage: /],
		[['status', '--timeout'], qr/^supervisord: status: option '--timeout' needs a value /],
		[['wait', '--state'], qr/^supervisord: wait: option '--state' needs a value /],
		[['status', '--json=1'], qr/^supervisord: status: option '--json=1' takes no value /],
		[['status', '--frob'], qr/^supervisord: status: unknown option '--frob' /],
		[['status', '-jq'], qr/^supervisord: status: unknown option '-q' /],
		[['restart', '--json'], qr/^supervisord: restart: unknown option '--json' /],
		[['worker', '-n'], qr/^supervisord: worker: option '-n' needs a value /],
		[['worker', '--na'], qr/^supervisord: worker: option '--na' needs a value /],
		[['worker', '--respawn=no', 'true'], qr/^supervisord: worker: option '--respawn=no' takes no value /],
	);
	for my $case (@cases) {
		my ($args, $want) = @$case;
		my ($status, $out, $err) = run(@$args);
		my $name = join(' ', @$args);
		is($status >> 8, 2, "$name: exit status 2");
		like($err, qr/$want[^\n]*\n\z/, "$name: one line") or diag($err);
		is($out, '', "$name: nothing on stdout");
	}
};

subtest '-h and -V' => sub {
	for my $flag ('-h', '--help') {
		my ($status, $out, $err) = run($flag);
		is($status, 0, "$flag: exit status 0");
		like($out, qr/^usage: supervisord \[options\]/, "$flag: usage on stdout");
		like($out, qr/--max-connections/, "$flag: lists the options");
		is($err, '', "$flag: nothing on stderr");
	}
	for my $flag ('-V', '--version') {
		my ($status, $out, $err) = run($flag);
		is($status, 0, "$flag: exit status 0");
		like($out, qr/^supervisord \d+\.\d+\.\d+\n\z/, "$flag: one line with the version");
	}
};

subtest 'log levels' => sub {
	my %seen;
	for my $level (qw(debug info warn error)) {
		my $d = start_daemon(log_level => $level);
		my $c = $d->client;
		$c->call_final('register');
		$c->call_final('nope');
		$c->close;
		is($d->stop, 0, "$level: exit status 0");
		my $log = $d->log;
		$seen{$level} = { map { $_ => scalar($log =~ /^$_ /m) } qw(debug info warn error) };
		like($log, qr/^(?:(?:debug|info|warn|error) [^\n]+\n)*\z/, "$level: every line starts with its level");
	}
	ok($seen{debug}{debug} && $seen{debug}{info}, 'debug: debug and info lines');
	ok(!$seen{info}{debug} && $seen{info}{info}, 'info: no debug lines');
	ok(!$seen{warn}{debug} && !$seen{warn}{info}, 'warn: no info lines');
	ok(!$seen{error}{info}, 'error: no info lines');
	my $d = start_daemon(log_level => 'info');
	like($d->log, qr/^info listening socket=\S+ pid=\d+ max_connections=\d+$/m, 'message first, then key=value figures');
	is($d->stop, 0, 'exit status 0');
};

subtest 'SIGTERM and SIGINT: exit 0, socket and pidfile removed, with work in flight' => sub {
	for my $sig ('TERM', 'INT') {
		my $pidfile = "$tmp/stop-$sig.pid";
		my $d = start_daemon(args => ['-p', $pidfile]);
		my @workers = map { $d->client } 1 .. 3;
		my @ids = map { $_->call_final('register', state => { big => 'x' x 1000 })->{connection_id} } @workers;
		my $caller = $d->client;
		$caller->send({ id => 2, do => 'forward', connection_id => $ids[0], operation => { do => 'slow' } });
		$caller->send({ id => 4, do => 'forward', connection_id => $ids[1], operation => { do => 'slow' }, timeout => 60 });
		$workers[0]->recv;
		$workers[1]->recv;
		my $partial = $d->client;
		$partial->send_raw('{"id":2,"do":"sta');
		is($d->stop($sig), 0, "SIG$sig: exit status 0");
		ok(!-e $d->socket, "SIG$sig: socket removed");
		ok(!-e $pidfile, "SIG$sig: pidfile removed");
		ok($_->eof(2), "SIG$sig: connection closed") for @workers, $caller;
		like($d->log, qr/stopping signal=$sig connections=\d+/, "SIG$sig: logged");
	}
};

subtest 'SIGPIPE and SIGUSR1 do not stop the daemon' => sub {
	my $d = start_daemon();
	kill 'PIPE', $d->pid;
	kill 'USR1', $d->pid;
	kill 'USR2', $d->pid;
	ok($d->client->call_final('status')->{finished}, 'still serving');
	is($d->stop, 0, 'exit status 0');
};

done_testing();
