#!/usr/bin/perl
# Writes the seed corpus for fuzz_rpc (see the record format at the top of
# fuzz_rpc.c): ./make-seeds.pl DIR
use strict;
use warnings;

my $dir = shift // 'corpus';
mkdir $dir;

# write(slot, text): one or more write records of at most 255 bytes.
sub w {
	my ($slot, $text) = @_;
	my $out = '';
	while (length $text) {
		my $part = substr($text, 0, 255, '');
		$out .= chr($slot) . chr(length $part) . $part;
	}
	return $out;
}
sub vanish { chr(0x10 | $_[0]) }
sub deaf { chr(0x14 | $_[0]) }
sub expire { chr(0x18) }
sub answer { chr(0x1c | $_[0]) }

my %seeds = (
	'register' => w(0, qq({"id":2,"do":"register","state":{"name":"a"}}\n)),
	'status' => w(0, qq({"id":2,"do":"register"}\n)) . w(1, qq({"id":4,"do":"status"}\n)),
	'forward' => w(0, qq({"id":2,"do":"register","state":{"name":"w"}}\n))
	    . w(1, qq({"id":6,"do":"forward","connection_id":"\@0","operation":{"do":"info"},"timeout":5}\n))
	    . answer(0),
	'forward-split' => w(0, qq({"id":2,"do":"reg)) . w(0, qq(ister"}\r\n))
	    . w(1, qq({"id":"s","do":"forward","connection_id":"\@0","op))
	    . w(1, qq(eration":{"do":"x","id":9}}\n))
	    . w(0, qq({"id":3,"partial":1}\n{"id":3,"finished":true}\n)),
	'forward-gone' => w(0, qq({"id":2,"do":"register"}\n))
	    . w(1, qq({"id":2,"do":"forward","connection_id":"\@0","operation":{"do":"a"}}\n))
	    . vanish(0) . w(2, qq({"id":2,"do":"forward","connection_id":"\@1","operation":{"do":"b"},"timeout":0.001}\n))
	    . expire(),
	'replies' => w(0, qq({"id":3,"finished":true}\n{"id":5}\n{"id":"x"}\n\n  \n)),
	'garbage' => w(0, qq({"id":[1],"do":"status"}\n{"do":7}\n[1,2]\n{"id":2,"do":"frobnicate"}\n{"id":2}x\n))
	    . w(1, qq({"id":2,"do":"restart","signal":"NOPE"}\n{"do":"status"}\n)),
	'too-long' => w(0, '{"id":2,"do":"status","pad":"' . ('x' x 1100) . qq("}\n{"id":4,"do":"status"}\n)),
	'deaf' => deaf(1) . w(0, qq({"id":2,"do":"register","state":{"pad":") . ('y' x 200) . qq("}}\n))
	    . w(1, qq({"id":2,"do":"status"}\n) x 100) . deaf(1),
);
for my $name (sort keys %seeds) {
	open(my $fh, '>:raw', "$dir/$name") or die "$dir/$name: $!";
	print $fh $seeds{$name};
	close($fh);
}
