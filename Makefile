# supervisord: see README.md and supervisord(8).

PREFIX	?= /usr/local
SBINDIR	?= $(PREFIX)/sbin
MANDIR	?= $(PREFIX)/share/man
PKG_CONFIG ?= pkg-config

CC	?= cc
# Small by default: an embedded daemon is judged by its size, and -Os costs
# nothing measurable here (the round trip is the kernel's). No unwind tables
# (C needs none; gdb uses .debug_frame); unused sections dropped at link.
CFLAGS	?= -Os -g
SIZE_CFLAGS = -fno-asynchronous-unwind-tables -ffunction-sections -fdata-sections
SIZE_LDFLAGS = -Wl,--gc-sections -Wl,--as-needed -Wl,-z,now
CJSON_CFLAGS := $(shell $(PKG_CONFIG) --cflags libcjson)
CJSON_LIBS   := $(shell $(PKG_CONFIG) --libs libcjson)
# The warnings the tree is kept clean of, under gcc and clang alike; CI adds -Werror.
WARNINGS = -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wformat=2 \
	-Wstrict-prototypes -Wmissing-prototypes
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARNINGS) -I. $(CJSON_CFLAGS) $(CFLAGS)
LIBS	= $(CJSON_LIBS)

# The daemon's core sits at the top; what it is built from, by role, below.
LIB_SRCS = lib/procfs.c lib/hmap.c lib/jsonw.c lib/jsonscan.c lib/log.c lib/selfpipe.c \
	lib/signame.c lib/size.c lib/uuid.c lib/params.c lib/trim.c lib/utf8.c
MONITOR_SRCS = monitors/memory.c monitors/process.c
DAEMON_SRCS = conn.c rpc.c reply.c forward.c registry.c monitor.c listener.c \
	$(MONITOR_SRCS) $(LIB_SRCS)
CLIENT_SRCS = client/client.c client/worker.c client/worker_ops.c client/jsonline.c
SRCS	= supervisord.c $(DAEMON_SRCS) $(CLIENT_SRCS)
HDRS	= $(wildcard *.h lib/*.h monitors/*.h client/*.h)
# Objects go to a build folder, never beside the sources.
BUILD	?= build
OBJS	= $(SRCS:%.c=$(BUILD)/%.o)

all: supervisord

supervisord: $(OBJS)
	$(CC) $(ALL_CFLAGS) $(SIZE_LDFLAGS) $(LDFLAGS) -o $@ $(OBJS) $(LIBS)

$(BUILD)/%.o: %.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(SIZE_CFLAGS) -c -o $@ $<

UNIT_SRCS = lib/hmap.c lib/jsonscan.c lib/jsonw.c lib/size.c lib/signame.c lib/utf8.c lib/params.c lib/uuid.c lib/procfs.c monitors/memory.c \
	monitors/process.c lib/log.c
t/unit: t/unit.c $(UNIT_SRCS) $(HDRS)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ t/unit.c $(UNIT_SRCS) $(LIBS)

# The load and fault driver of the t/50-* tests.
t/stress: t/stress.c
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -O2 $(CFLAGS) $(LDFLAGS) -o $@ t/stress.c

# The random protocol driver of t/81 (every peer caller and worker at once).
t/randproto: t/randproto.c
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -O2 $(CJSON_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ t/randproto.c $(CJSON_LIBS)

# Allocation failures on demand, for the tests (LD_PRELOAD).
t/failalloc.so: t/failalloc.c
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -shared -fPIC $(CFLAGS) $(LDFLAGS) -o $@ t/failalloc.c -ldl

TEST_FILES ?= t/*.t

check: supervisord t/unit t/stress t/randproto t/failalloc.so
	prove $(TEST_FILES)

# The same suite against a build with AddressSanitizer, LeakSanitizer and UBSan:
# a daemon that leaks or trips a check exits non-zero, which fails its test.
SAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
supervisord-asan: $(SRCS) $(HDRS)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) $(LDFLAGS) -o $@ $(SRCS) $(LIBS)

check-asan: supervisord-asan t/unit t/stress t/randproto t/failalloc.so
	SUPERVISORD=$(CURDIR)/supervisord-asan \
	ASAN_OPTIONS=detect_leaks=1:exitcode=23:abort_on_error=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	prove $(TEST_FILES)

# The core suite with every daemon under valgrind: a leak or a memory error
# makes the daemon exit 99, which fails its test. Left out: t/22 and t/25
# measure fd limits and resident size, which valgrind itself changes (it
# keeps fds of its own under the limit and lies about the limit).
VALGRIND_TESTS	?= $(filter-out t/22-fd-limits.t t/25-no-leftovers.t, \
	$(wildcard t/0*.t t/1*.t t/2*.t))
VALGRIND	?= valgrind --error-exitcode=99 --leak-check=full \
	--errors-for-leak-kinds=definite,indirect -q
check-valgrind: supervisord t/unit
	SUPERVISORD_WRAPPER="$(VALGRIND)" prove $(VALGRIND_TESTS)

# The clang static analyzer over every source of the binary and the test
# tools; any report fails the target.
SCAN_BUILD ?= scan-build
scan:
	rm -rf $(BUILD)-scan
	$(SCAN_BUILD) --status-bugs -o $(BUILD)-scan/report $(MAKE) BUILD=$(BUILD)-scan \
	    supervisord
	$(SCAN_BUILD) --status-bugs -o $(BUILD)-scan/report $(MAKE) -B t/unit t/stress t/randproto

# The performance budget (SPEC section 9), measured against a raw poll() server.
bench/bench: bench/bench.c
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -O2 $(CFLAGS) $(LDFLAGS) -o $@ bench/bench.c

bench: supervisord bench/bench
	./bench/bench ./supervisord

# libFuzzer: byte streams through the real framing, dispatch and forwards.
FUZZ_CC		?= clang
FUZZ_SECONDS	?= 600
FUZZ_FLAGS	= -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_RUN	= ./fuzz/fuzz_rpc -dict=fuzz/rpc.dict -artifact_prefix=fuzz/ -close_fd_mask=2 \
	-print_final_stats=1 fuzz/corpus-work fuzz/corpus
# The reply writer against cJSON's own printer; a tenth of the time.
FUZZ_JSONW_RUN	= ./fuzz/fuzz_jsonw -artifact_prefix=fuzz/ -print_final_stats=1 \
	fuzz/corpus-jsonw-work fuzz/corpus-jsonw
fuzz/fuzz_rpc: fuzz/fuzz_rpc.c $(DAEMON_SRCS) $(HDRS)
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -I. $(CJSON_CFLAGS) $(FUZZ_FLAGS) \
	    -o $@ fuzz/fuzz_rpc.c $(DAEMON_SRCS) $(LIBS)

fuzz/fuzz_jsonw: fuzz/fuzz_jsonw.c lib/jsonw.c lib/jsonw.h
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -I. $(CJSON_CFLAGS) $(FUZZ_FLAGS) \
	    -o $@ fuzz/fuzz_jsonw.c lib/jsonw.c $(LIBS)

fuzz: fuzz/fuzz_rpc fuzz/fuzz_jsonw
	mkdir -p fuzz/corpus-work fuzz/corpus-jsonw-work
	FUZZ_LOG_LEVEL=debug $(FUZZ_RUN) -max_total_time=$(FUZZ_SECONDS)
	$(FUZZ_JSONW_RUN) -max_total_time=$$(( $(FUZZ_SECONDS) / 10 + 1 ))

fuzz-smoke: fuzz/fuzz_rpc fuzz/fuzz_jsonw
	mkdir -p fuzz/corpus-work fuzz/corpus-jsonw-work
	FUZZ_LOG_LEVEL=debug $(FUZZ_RUN) -max_total_time=50
	$(FUZZ_JSONW_RUN) -max_total_time=10

# Which module calls which, from the objects' symbols; fails on any circle.
layering: supervisord
	./tools/layering $(BUILD)

install: supervisord
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8
	install -m 0755 supervisord $(DESTDIR)$(SBINDIR)/supervisord
	install -m 0644 man/supervisord.8 $(DESTDIR)$(MANDIR)/man8/supervisord.8

clean:
	rm -rf $(BUILD) $(BUILD)-scan
	rm -f supervisord supervisord-asan t/unit t/stress t/randproto t/failalloc.so fuzz/fuzz_rpc fuzz/fuzz_jsonw bench/bench

.PHONY: all bench check check-asan check-valgrind fuzz fuzz-smoke install clean layering scan
