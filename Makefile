# supervisord: see README.md and supervisord(8).

PREFIX	?= /usr/local
SBINDIR	?= $(PREFIX)/sbin
MANDIR	?= $(PREFIX)/share/man
DOCDIR	?= $(PREFIX)/share/doc/supervisord
PKG_CONFIG ?= pkg-config
INSTALL	?= install

CC	?= cc
# A cross compiler's own strip (aarch64-linux-gnu-gcc: aarch64-linux-gnu-strip).
ifneq ($(findstring -linux-,$(CC)),)
STRIP	?= $(patsubst %gcc,%strip,$(CC))
else
STRIP	?= strip
endif
# Small by default: an embedded daemon is judged by its size, and -Os costs
# nothing measurable here (the round trip is the kernel's). No unwind tables
# (C needs none; gdb uses .debug_frame); unused sections dropped at link;
# no page of padding between code and data segments.
CFLAGS	?= -Os -g
SIZE_CFLAGS = -fno-asynchronous-unwind-tables -ffunction-sections -fdata-sections
SIZE_LDFLAGS = -Wl,--gc-sections -Wl,--as-needed -Wl,-z,now -Wl,-z,noseparate-code
# The system socket, used by the daemon and the client commands alike when
# neither -s nor $$SUPERVISOR_IPC names one.
SOCKET	?= /run/supervisord.ipc
# make STATIC=1 (or make static): one self-contained binary.
STATIC	?=
ifneq ($(STATIC),)
# One self-contained binary is judged by its size: link-time optimisation
# (gcc's; clang's needs a linker plugin) drops and merges across files,
# about 3 KB with musl. The link then compiles, so it gets SIZE_CFLAGS too.
ifeq ($(findstring clang,$(CC)),)
STATIC_LTO = -flto=auto
endif
STATIC_LDFLAGS = -static -Wl,-z,noseparate-code $(STATIC_LTO) $(SIZE_CFLAGS)
# A static link is not position-independent, so position-independent code
# (the compiler's default) only costs bytes there: 2.3 KB with musl.
STATIC_CFLAGS = -DSTATIC_BUILD $(STATIC_LTO) -fno-pie
# musl's start-up code in a static (non-PIE) binary never makes the RELRO
# region read-only (only its dynamic loader does), so there the region is
# padding to a page boundary and nothing more: 2 KiB or more of the file.
# glibc's static start-up does protect it, so it stays there.
STATIC_LIBC := $(shell printf '\043include <features.h>\n\043ifdef __GLIBC__\nglibc\n\043endif\n' | \
	$(CC) -E -P -x c - 2>/dev/null | grep -x glibc)
ifneq ($(STATIC_LIBC),glibc)
STATIC_LDFLAGS += -Wl,-z,norelro
# musl's fork() is _Fork() (POSIX 2024; musl 1.2.3 on) with pthread_atfork
# handlers and, once a thread was made, the locks threads need taken around
# it: the daemon has neither threads nor handlers, and the locking is 1.6 KB
# of a static binary. Where the C library has _Fork(), fork() is it.
FORK_PROBE := $(shell printf '\043include <unistd.h>\nint main(void){return _Fork();}\n' | \
	$(CC) -x c - -static -o /dev/null 2>/dev/null && echo yes)
ifeq ($(FORK_PROBE),yes)
STATIC_CFLAGS += -Dfork=_Fork
endif
endif
endif
# Objects go to a build folder, never beside the sources.
BUILD	?= build
PROG	?= supervisord
# Relative relocations packed (DT_RELR): 4 KiB less in a dynamic PIE. Only
# where the C library's loader says it applies them (glibc 2.36 and later
# give the version GLIBC_ABI_DT_RELR, and the linker then requires it);
# another loader would start the binary with its pointers unrelocated.
ifeq ($(STATIC),)
RELR_PROBE := $(shell mkdir -p $(BUILD) && printf 'int main(void){return 0;}\n' | \
	$(CC) -x c - -o $(BUILD)/relr-probe -Wl,-z,pack-relative-relocs 2>/dev/null && \
	grep -q GLIBC_ABI_DT_RELR $(BUILD)/relr-probe && echo yes; rm -f $(BUILD)/relr-probe)
ifeq ($(RELR_PROBE),yes)
SIZE_LDFLAGS += -Wl,-z,pack-relative-relocs
endif
endif

# cJSON: CJSON_CFLAGS and CJSON_LIBS when given, else CJSON_SRC=DIR (a
# folder holding cJSON.c and cJSON.h, as an embedded build system unpacks
# it) compiled into the binary, else pkg-config.
ifneq ($(CJSON_SRC),)
CJSON_INCLUDE = $(BUILD)/cjson-include
CJSON_HDR = $(CJSON_INCLUDE)/cjson/cJSON.h
CJSON_OBJS = $(BUILD)/cjson/cJSON.o
CJSON_CFLAGS ?= -isystem $(CJSON_INCLUDE)
CJSON_LIBS ?= -lm
else
ifeq ($(origin CJSON_CFLAGS),undefined)
CJSON_CFLAGS := $(shell $(PKG_CONFIG) --cflags libcjson)
endif
ifeq ($(origin CJSON_LIBS),undefined)
CJSON_LIBS := $(shell $(PKG_CONFIG) --libs libcjson)
endif
endif
# The warnings the tree is kept clean of, under gcc and clang alike; CI adds -Werror.
WARNINGS = -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wformat=2 \
	-Wstrict-prototypes -Wmissing-prototypes
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARNINGS) -I. $(CJSON_CFLAGS) \
	-DSUPERVISORD_SOCKET='"$(SOCKET)"' $(STATIC_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(SIZE_LDFLAGS) $(STATIC_LDFLAGS) $(LDFLAGS)
LIBS	= $(CJSON_OBJS) $(CJSON_LIBS)

# The daemon's core sits at the top; what it is built from, by role, below.
LIB_SRCS = lib/procfs.c lib/procid.c lib/cgroup.c lib/hmap.c lib/jsonw.c lib/jsonscan.c lib/log.c \
	lib/selfpipe.c lib/signame.c lib/size.c lib/uuid.c lib/params.c lib/trim.c lib/utf8.c lib/usage.c lib/opt.c \
	lib/clock.c lib/fmt.c lib/num.c
MONITOR_SRCS = monitors/memory.c monitors/process.c
DAEMON_SRCS = conn.c rpc.c reply.c forward.c registry.c monitor.c listener.c events.c \
	$(MONITOR_SRCS) $(LIB_SRCS)
CLIENT_SRCS = client/client.c client/worker.c client/worker_ops.c client/jsonline.c \
	client/report.c
SRCS	= supervisord.c $(DAEMON_SRCS) $(CLIENT_SRCS)
HDRS	= $(wildcard *.h lib/*.h monitors/*.h client/*.h)
OBJS	= $(SRCS:%.c=$(BUILD)/%.o)

# Everything that changes what the compiler makes; a change rebuilds it all,
# so switching CC, STATIC or SOCKET never links stale objects.
BUILD_CONFIG := $(CC) $(ALL_CFLAGS) $(SIZE_CFLAGS) $(ALL_LDFLAGS) $(CJSON_LIBS) $(CJSON_SRC)
ifneq ($(BUILD_CONFIG),$(file <$(BUILD)/config))
$(shell mkdir -p $(BUILD))
$(file >$(BUILD)/config,$(BUILD_CONFIG))
endif

all: $(PROG)

static:
	$(MAKE) STATIC=1 all

$(PROG): $(OBJS) $(CJSON_OBJS)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(OBJS) $(LIBS)

$(BUILD)/%.o: %.c $(HDRS) $(BUILD)/config | $(CJSON_HDR)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(SIZE_CFLAGS) -c -o $@ $<

# cJSON from its own source tree: the header is reached through a link, so
# the sources include <cjson/cJSON.h> as they do against the system's copy.
$(CJSON_HDR):
	@test -f $(CJSON_SRC)/cJSON.c -a -f $(CJSON_SRC)/cJSON.h || \
	    { echo "CJSON_SRC=$(CJSON_SRC): no cJSON.c and cJSON.h there" >&2; exit 1; }
	@mkdir -p $(@D)
	ln -sf $(abspath $(CJSON_SRC))/cJSON.h $@

$(BUILD)/cjson/cJSON.o: $(CJSON_SRC)/cJSON.c $(BUILD)/config | $(CJSON_HDR)
	@mkdir -p $(@D)
	$(CC) -std=c99 $(SIZE_CFLAGS) $(STATIC_LTO) $(filter -fno-pie,$(STATIC_CFLAGS)) $(CFLAGS) -c -o $@ $(CJSON_SRC)/cJSON.c

UNIT_SRCS = lib/hmap.c lib/jsonscan.c lib/jsonw.c lib/size.c lib/signame.c lib/utf8.c lib/params.c \
	lib/uuid.c lib/procfs.c lib/procid.c lib/cgroup.c lib/opt.c monitors/memory.c \
	monitors/process.c lib/log.c lib/clock.c lib/fmt.c lib/num.c
t/unit: t/unit.c $(UNIT_SRCS) $(HDRS) $(BUILD)/config $(CJSON_OBJS)
	$(CC) $(ALL_CFLAGS) $(STATIC_LDFLAGS) $(LDFLAGS) -o $@ t/unit.c $(UNIT_SRCS) $(LIBS)

t/unit_events: t/unit_events.c events.c lib/jsonw.c lib/hmap.c lib/clock.c lib/fmt.c $(HDRS) $(BUILD)/config $(CJSON_OBJS)
	$(CC) $(ALL_CFLAGS) $(STATIC_LDFLAGS) $(LDFLAGS) -o $@ t/unit_events.c events.c lib/jsonw.c lib/hmap.c lib/clock.c \
	    lib/fmt.c $(LIBS)

# The load and fault driver of the t/50-* tests.
t/stress: t/stress.c $(BUILD)/config
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -O2 $(CFLAGS) $(STATIC_LDFLAGS) $(LDFLAGS) -o $@ t/stress.c

# The random protocol driver of t/81 (every peer caller and worker at once).
t/randproto: t/randproto.c $(BUILD)/config $(CJSON_OBJS) | $(CJSON_HDR)
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -O2 $(CJSON_CFLAGS) $(CFLAGS) $(STATIC_LDFLAGS) \
	    $(LDFLAGS) -o $@ t/randproto.c $(LIBS)

# Allocation failures on demand, for the tests (LD_PRELOAD).
t/failalloc.so: t/failalloc.c
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -shared -fPIC $(CFLAGS) $(LDFLAGS) -o $@ t/failalloc.c -ldl

TEST_FILES ?= t/*.t
# The suite runs against $$SUPERVISORD when set (another build, an emulated one).
SUPERVISORD ?= $(abspath $(PROG))

check: $(PROG) t/unit t/unit_events t/stress t/randproto t/failalloc.so
	SUPERVISORD=$(SUPERVISORD) prove $(TEST_FILES)

# The same suite against a build with AddressSanitizer, LeakSanitizer and UBSan:
# a daemon that leaks or trips a check exits non-zero, which fails its test.
SAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
supervisord-asan: $(SRCS) $(HDRS)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) $(LDFLAGS) -o $@ $(SRCS) $(LIBS)

check-asan: supervisord-asan t/unit t/unit_events t/stress t/randproto t/failalloc.so
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
	SUPERVISORD=$(CURDIR)/supervisord sh bench/monitor-tick.sh -n 1000 -t 6

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

# The /proc, cgroup, size and signal-name parsers; a fifth of the time.
PARSER_SRCS	= lib/procfs.c lib/procid.c lib/cgroup.c lib/size.c lib/signame.c lib/utf8.c lib/num.c
FUZZ_PARSERS_RUN = ./fuzz/fuzz_parsers -dict=fuzz/parsers.dict -artifact_prefix=fuzz/ \
	-print_final_stats=1 fuzz/corpus-parsers-work fuzz/corpus-parsers
fuzz/fuzz_parsers: fuzz/fuzz_parsers.c $(PARSER_SRCS) $(HDRS)
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -I. $(CJSON_CFLAGS) $(FUZZ_FLAGS) \
	    -o $@ fuzz/fuzz_parsers.c $(PARSER_SRCS) $(LIBS)

fuzz/fuzz_jsonw: fuzz/fuzz_jsonw.c lib/jsonw.c lib/jsonw.h
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -I. $(CJSON_CFLAGS) $(FUZZ_FLAGS) \
	    -o $@ fuzz/fuzz_jsonw.c lib/jsonw.c $(LIBS)

# The static builds' formatter against the C library's printf; a twentieth of the time.
FUZZ_FMT_RUN	= ./fuzz/fuzz_fmt -artifact_prefix=fuzz/ -print_final_stats=1 \
	fuzz/corpus-fmt-work fuzz/corpus-fmt
fuzz/fuzz_fmt: fuzz/fuzz_fmt.c lib/fmt.c lib/fmt.h
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -I. $(FUZZ_FLAGS) \
	    -o $@ fuzz/fuzz_fmt.c lib/fmt.c -lm

# Each harness for its share of FUZZ_SECONDS: the protocol 13/20, the parsers 4/20, the
# writer 2/20, the formatter 1/20.
fuzz: fuzz/fuzz_rpc fuzz/fuzz_jsonw fuzz/fuzz_parsers fuzz/fuzz_fmt
	mkdir -p fuzz/corpus-work fuzz/corpus-jsonw-work fuzz/corpus-parsers-work fuzz/corpus-fmt-work
	FUZZ_LOG_LEVEL=debug $(FUZZ_RUN) -max_total_time=$$(( $(FUZZ_SECONDS) * 13 / 20 + 1 ))
	$(FUZZ_PARSERS_RUN) -max_total_time=$$(( $(FUZZ_SECONDS) * 2 / 10 + 1 ))
	$(FUZZ_JSONW_RUN) -max_total_time=$$(( $(FUZZ_SECONDS) / 10 + 1 ))
	$(FUZZ_FMT_RUN) -max_total_time=$$(( $(FUZZ_SECONDS) / 20 + 1 ))

fuzz-smoke: fuzz/fuzz_rpc fuzz/fuzz_jsonw fuzz/fuzz_parsers fuzz/fuzz_fmt
	mkdir -p fuzz/corpus-work fuzz/corpus-jsonw-work fuzz/corpus-parsers-work fuzz/corpus-fmt-work
	FUZZ_LOG_LEVEL=debug $(FUZZ_RUN) -max_total_time=50
	$(FUZZ_PARSERS_RUN) -max_total_time=10
	$(FUZZ_JSONW_RUN) -max_total_time=10
	$(FUZZ_FMT_RUN) -max_total_time=8

# Sizes, idle memory and start-up time against SPEC 9's budgets: this
# build, and with CJSON_SRC a static musl build (MUSL_CC) beside it.
MUSL_CC	?= musl-gcc
SIZE_BUILD ?= build-musl-static
# Every figure is measured before the verdict, so one over its budget
# hides none of the others.
size: $(PROG)
	@status=0; \
	perl bench/footprint.pl --strip '$(STRIP)' --max-size 100 '$(PROG)' || status=1; \
	if [ -n '$(CJSON_SRC)' ]; then \
	    $(MAKE) --no-print-directory CC='$(MUSL_CC)' STATIC=1 BUILD=$(SIZE_BUILD) \
	        PROG=$(SIZE_BUILD)/supervisord CFLAGS='$(CFLAGS)' CJSON_SRC='$(CJSON_SRC)' \
	        $(SIZE_BUILD)/supervisord >/dev/null && \
	    perl bench/footprint.pl --strip strip --max-size 160 --max-resident 256 \
	        --max-ready-ms 3 $(SIZE_BUILD)/supervisord || status=1; \
	else \
	    echo "static musl build: not measured (give CJSON_SRC=DIR, a folder holding cJSON.c)"; \
	fi; \
	exit $$status

EXAMPLES = examples/README.md examples/supervisord.init examples/supervisord.openrc \
	examples/supervisord-worker.openrc examples/inittab.busybox

install: $(PROG)
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DOCDIR)/examples
	$(INSTALL) -m 0755 $(PROG) $(DESTDIR)$(SBINDIR)/supervisord
	$(INSTALL) -m 0644 man/supervisord.8 $(DESTDIR)$(MANDIR)/man8/supervisord.8
	$(INSTALL) -m 0644 README.md $(DESTDIR)$(DOCDIR)/README.md
	$(INSTALL) -m 0644 $(EXAMPLES) $(DESTDIR)$(DOCDIR)/examples/

install-strip: install
	$(STRIP) $(DESTDIR)$(SBINDIR)/supervisord

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/supervisord $(DESTDIR)$(MANDIR)/man8/supervisord.8
	rm -f $(DESTDIR)$(DOCDIR)/README.md $(EXAMPLES:examples/%=$(DESTDIR)$(DOCDIR)/examples/%)
	-rmdir $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) 2>/dev/null

# Which module calls which, from the objects' symbols; fails on any circle.
layering: $(PROG)
	./tools/layering $(BUILD)

clean:
	rm -rf $(BUILD) $(BUILD)-scan $(SIZE_BUILD)
	rm -f supervisord supervisord-asan t/unit t/unit_events t/stress t/randproto t/failalloc.so \
	    fuzz/fuzz_rpc fuzz/fuzz_jsonw fuzz/fuzz_parsers fuzz/fuzz_fmt bench/bench

.PHONY: all static size bench check check-asan check-valgrind fuzz fuzz-smoke install \
	install-strip uninstall clean layering scan
