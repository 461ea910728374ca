# supervisord: see README.md and supervisord(8).

PREFIX	?= /usr/local
SBINDIR	?= $(PREFIX)/sbin
MANDIR	?= $(PREFIX)/share/man
PKG_CONFIG ?= pkg-config

CC	?= cc
CFLAGS	?= -O2 -g
CJSON_CFLAGS := $(shell $(PKG_CONFIG) --cflags libcjson)
CJSON_LIBS   := $(shell $(PKG_CONFIG) --libs libcjson)
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -Wall -Wextra $(CJSON_CFLAGS) $(CFLAGS)
LIBS	= $(CJSON_LIBS) -lm

DAEMON_SRCS = procfs.c conn.c rpc.c forward.c registry.c monitor.c listener.c jsonscan.c \
	monitor_memory.c monitor_process.c \
	hmap.c log.c size.c signame.c uuid.c
CLIENT_SRCS = client.c worker.c worker_ops.c jsonline.c
SRCS	= supervisord.c $(DAEMON_SRCS) $(CLIENT_SRCS)
OBJS	= $(SRCS:.c=.o)

all: supervisord

supervisord: $(OBJS)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(OBJS) $(LIBS)

%.o: %.c *.h
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

UNIT_SRCS = hmap.c size.c signame.c uuid.c procfs.c monitor_memory.c monitor_process.c log.c
t/unit: t/unit.c $(UNIT_SRCS) *.h
	$(CC) $(ALL_CFLAGS) -I. $(LDFLAGS) -o $@ t/unit.c $(UNIT_SRCS) $(LIBS)

TEST_FILES ?= t/*.t

check: supervisord t/unit
	prove $(TEST_FILES)

# The same suite against a build with AddressSanitizer, LeakSanitizer and UBSan:
# a daemon that leaks or trips a check exits non-zero, which fails its test.
SAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
supervisord-asan: $(SRCS) *.h
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) $(LDFLAGS) -o $@ $(SRCS) $(LIBS)

check-asan: supervisord-asan t/unit
	SUPERVISORD=$(CURDIR)/supervisord-asan \
	ASAN_OPTIONS=detect_leaks=1:exitcode=23:abort_on_error=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	prove $(TEST_FILES)

install: supervisord
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8
	install -m 0755 supervisord $(DESTDIR)$(SBINDIR)/supervisord
	install -m 0644 man/supervisord.8 $(DESTDIR)$(MANDIR)/man8/supervisord.8

clean:
	rm -f supervisord supervisord-asan $(OBJS) t/unit

.PHONY: all check check-asan install clean
