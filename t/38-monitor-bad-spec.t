#!/usr/bin/perl
# A bad -M spec is a usage error: exit status 2, one line naming the text.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use Test::More;
use SupTest;

my $dir = tempdir('supervisord-test-XXXXXX', TMPDIR => 1, CLEANUP => 1);

my @cases = (
	['bogus', qr/unknown monitor 'bogus' \(known: memory, process\)/],
	['memory:colour=red', qr/unknown option 'colour'/],
	['memory:maximum-size-limit=12Q', qr/maximum-size-limit '12Q' is not a size/],
	['memory:total-size-limit=0', qr/total-size-limit '0' is not a size/],
	['memory:free-size-minimum=lots', qr/free-size-minimum 'lots' is not a size/],
	['memory:threshold-size=', qr/threshold-size '' is not a size/],
	['memory:signal=SIGFOO', qr/signal 'SIGFOO' is not a signal/],
	['memory:increase-limit=0', qr/increase-limit '0' is not a whole number/],
	['memory:increase-limit=-3', qr/increase-limit '-3' is not a whole number/],
	['memory:increase-limit= -3', qr/increase-limit ' -3' is not a whole number/],
	['memory:increase-limit=18446744073709551616', qr/increase-limit '18446744073709551616' is not a whole number/],
	['memory:interval=0', qr/interval '0' is not a number of seconds/],
	['memory:interval=-1', qr/interval '-1' is not a number of seconds/],
	['memory:interval=soon', qr/interval 'soon' is not a number of seconds/],
	['memory:interval=nan', qr/interval 'nan' is not a number of seconds/],
	['memory:interval', qr/'interval' is not key=value/],
	['process:ppid=init', qr/ppid 'init' is not a process id/],
	['process:ppid=-18446744073709551615', qr/ppid '-18446744073709551615' is not a process id/],
	['process:ppid=4194305', qr/ppid '4194305' is not a process id/],
	['process:maximum-size-limit=1M', qr/unknown option 'maximum-size-limit'/],
);

for my $case (@cases) {
	my ($spec, $message) = @$case;
	my $pid = open(my $out, '-|') // die "fork: $!";
	if ($pid == 0) {
		open(STDERR, '>&', \*STDOUT) or die;
		exec(binary(), '-s', "$dir/s.ipc", '-M', 'memory:interval=1', '-M', $spec) or POSIX::_exit(127);
	}
	my @lines = <$out>;
	close($out);
	is($? >> 8, 2, "-M '$spec': exit status 2");
	ok(@lines == 1 && $lines[0] =~ /^supervisord: -M \Q$spec\E: / && $lines[0] =~ $message,
	    "-M '$spec': one line naming it") or diag(@lines);
}
ok(!-e "$dir/s.ipc", 'the daemon never started');

done_testing();
