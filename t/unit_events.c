/* Unit tests of the event ring and its subscribers, printing TAP. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"

static int test_count;
static int failures;

static void
ok(int condition, const char *name)
{
	test_count++;
	if (!condition)
		failures++;
	printf("%s %d - %s\n", condition ? "ok" : "not ok", test_count, name);
}

/* What the deliver function was handed, one line after another. */
static char delivered[1 << 16];
static size_t delivered_len;
static int delivered_lines;
static void *last_owner;

static void
record(void *owner, const char *line, size_t len)
{
	last_owner = owner;
	delivered_lines++;
	if (delivered_len + len < sizeof(delivered)) {
		memcpy(delivered + delivered_len, line, len);
		delivered_len += len;
		delivered[delivered_len] = '\0';
	}
}

static void
clear(void)
{
	delivered_len = 0;
	delivered[0] = '\0';
	delivered_lines = 0;
	last_owner = NULL;
}

static void
publish(enum event_type type, const char *connection_id, pid_t pid, const char *extra)
{
	struct event e = { .type = type, .connection_id = connection_id, .process_id = pid,
	    .extra = extra, .extra_len = extra != NULL ? strlen(extra) : 0 };

	events_publish(&e);
}

/* The pids in what was delivered, in order, written into out as "1,2,3". */
static void
pids_delivered(char *out, size_t out_len)
{
	const char *p = delivered;
	size_t used = 0;

	out[0] = '\0';
	while ((p = strstr(p, "\"process_id\":")) != NULL && used < out_len) {
		p += 13;
		used += (size_t)snprintf(out + used, out_len - used, "%s%ld",
		    used ? "," : "", strtol(p, NULL, 10));
	}
}

static void
test_names(void)
{
	ok(events_type_from_name("registered", 10) == EVENT_REGISTERED, "events: registered by name");
	ok(events_type_from_name("forward_timeout", 15) == EVENT_FORWARD_TIMEOUT, "events: forward_timeout by name");
	ok(events_type_from_name("removed\0x", 9) == -1, "events: a name with a NUL inside is unknown");
	ok(events_type_from_name("register", 8) == -1, "events: a prefix is unknown");
	ok(strcmp(events_type_name(EVENT_MONITOR), "monitor") == 0, "events: name of monitor");
}

static void
test_no_subscriber(void)
{
	clear();
	publish(EVENT_REGISTERED, "id-1", 11, NULL);
	ok(delivered_lines == 0, "events: nothing delivered without a subscriber");
	ok(events_subscriber_count() == 0, "events: no subscriber counted");
}

static void
test_live(void)
{
	int owner_a, owner_b;
	cJSON *name = cJSON_CreateString("web");
	struct event e = { .type = EVENT_UPDATED, .connection_id = "id-2", .process_id = 12,
	    .name = name };

	clear();
	ok(events_subscribe(&owner_a, "7", 1, EVENTS_ALL_TYPES, 0) == 0, "events: subscribe");
	ok(delivered_lines == 0, "events: no backlog asked, none replayed");
	events_publish(&e);
	ok(delivered_lines == 1 && last_owner == &owner_a, "events: one line to the subscriber");
	ok(strncmp(delivered, "{\"id\":7,\"event\":\"updated\",\"at\":", 31) == 0,
	    "events: the line starts with the id, the type and the time");
	ok(strstr(delivered, ",\"connection_id\":\"id-2\",\"process_id\":12,\"name\":\"web\"}\n") != NULL,
	    "events: then connection_id, process_id and name, and one newline");
	clear();
	ok(events_subscribe(&owner_b, NULL, 0, 1u << EVENT_REMOVED, 0) == 0, "events: a filtered subscriber");
	publish(EVENT_REGISTERED, "id-3", 13, NULL);
	ok(delivered_lines == 1 && last_owner == &owner_a, "events: a filtered type goes only to who wants it");
	clear();
	publish(EVENT_REMOVED, "id-3", 13, ",\"reason\":\"closed\"");
	ok(delivered_lines == 2, "events: a wanted type goes to both");
	ok(strstr(delivered, "{\"event\":\"removed\"") != NULL, "events: a call without id gets lines without id");
	ok(strstr(delivered, "\"reason\":\"closed\"}\n") != NULL, "events: extra members are appended");
	events_unsubscribe(&owner_a);
	events_unsubscribe(&owner_b);
	ok(events_subscriber_count() == 0, "events: unsubscribed");
	clear();
	publish(EVENT_REMOVED, "id-3", 13, NULL);
	ok(delivered_lines == 0, "events: nothing delivered once unsubscribed");
	cJSON_Delete(name);
}

static void
test_backlog(void)
{
	int owner;
	char pids[4096];

	events_free();
	for (pid_t pid = 1; pid <= 5; pid++)
		publish(pid % 2 ? EVENT_REGISTERED : EVENT_REMOVED, "id", pid, NULL);
	clear();
	events_subscribe(&owner, "1", 1, EVENTS_ALL_TYPES, 3);
	pids_delivered(pids, sizeof(pids));
	ok(strcmp(pids, "3,4,5") == 0, "events: backlog 3 replays the 3 most recent, oldest first");
	events_unsubscribe(&owner);
	clear();
	events_subscribe(&owner, "1", 1, 1u << EVENT_REGISTERED, 2);
	pids_delivered(pids, sizeof(pids));
	ok(strcmp(pids, "3,5") == 0, "events: backlog counts only the types asked for");
	events_unsubscribe(&owner);
	clear();
	events_subscribe(&owner, "1", 1, EVENTS_ALL_TYPES, 100);
	pids_delivered(pids, sizeof(pids));
	ok(strcmp(pids, "1,2,3,4,5") == 0, "events: a backlog larger than what happened replays all");
	events_unsubscribe(&owner);

	for (pid_t pid = 6; pid <= 1000; pid++)
		publish(EVENT_REGISTERED, "id", pid, NULL);
	clear();
	events_subscribe(&owner, "1", 1, EVENTS_ALL_TYPES, 1000000);
	pids_delivered(pids, sizeof(pids));
	ok(delivered_lines == EVENTS_KEPT, "events: the ring keeps a fixed number");
	ok(strncmp(pids, "873,874,", 8) == 0 && strstr(pids, ",999,1000") != NULL, "events: the most recent, in order, across the wrap");
	events_unsubscribe(&owner);
	events_free();
}

int
main(void)
{
	events_init(record);
	test_names();
	test_no_subscriber();
	test_live();
	test_backlog();
	events_free();
	printf("1..%d\n", test_count);
	return failures ? 1 : 0;
}
