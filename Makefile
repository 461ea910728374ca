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

DAEMON_SRCS = conn.c rpc.c forward.c registry.c monitor.c listener.c \
	hmap.c log.c size.c signame.c uuid.c
CLIENT_SRCS = client.c worker.c
SRCS	= supervisord.c $(DAEMON_SRCS) $(CLIENT_SRCS)
OBJS	= $(SRCS:.c=.o)

all: supervisord

supervisord: $(OBJS)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(OBJS) $(LIBS)

%.o: %.c *.h
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

t/unit: t/unit.c hmap.c size.c signame.c uuid.c *.h
	$(CC) $(ALL_CFLAGS) -I. $(LDFLAGS) -o $@ t/unit.c hmap.c size.c signame.c uuid.c $(LIBS)

check: supervisord t/unit
	prove -v t/ 2>&1 | tail -n 40; prove t/

install: supervisord
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8
	install -m 0755 supervisord $(DESTDIR)$(SBINDIR)/supervisord
	install -m 0644 man/supervisord.8 $(DESTDIR)$(MANDIR)/man8/supervisord.8

clean:
	rm -f supervisord $(OBJS) t/unit

.PHONY: all check install clean
