/*
 * What the client makes of a status reply: finding a worker by name or id,
 * the 80-column table, Prometheus text, one readable line per event. Pure
 * functions of the reply and the time, so they are tested without a daemon.
 */
#ifndef REPORT_H
#define REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#define REPORT_MIN_PREFIX	4	/* shortest id prefix taken as a WORKER */
#define REPORT_SHORT_ID		8	/* shortest id shown in the table */

/* What status said: the monitors' sections by name, and the connections. */
struct snapshot {
	const cJSON	*sections;	/* {"memory_monitor":{...},...}, or NULL */
	const cJSON	*connections;	/* the final reply's array */
	double		 now;		/* Unix time, seconds */
};

/* What a wrapper publishes as state.status (SPEC 7): starting, running, ... */
#define REPORT_STATUSES	5
extern const char report_statuses[REPORT_STATUSES][9];

const char	*report_name(const cJSON *entry);	/* state.name, or NULL */
const char	*report_id(const cJSON *entry);		/* connection_id, or "" */
/* state.status as the wrapper publishes it; "running" for peers that publish none. */
const char	*report_state(const cJSON *entry);
bool		 report_is_running(const cJSON *entry);
/* The members of an array (or object); 0 for NULL. */
size_t		 report_count(const cJSON *array);

/*
 * The connections WORKER names (SPEC 7): a full id, else a name, else an id
 * prefix of at least REPORT_MIN_PREFIX characters. Fills found (up to max)
 * and returns how many matched in all.
 */
size_t	report_match(const cJSON *connections, const char *worker, const cJSON **found,
	    size_t max);
/* Writes "WORKER: no worker by that name or id; registered: a (1234abcd), ..." and the like. */
void	report_explain_match(FILE *out, const cJSON *connections, const char *worker,
	    const cJSON *const *found, size_t count);
/* "name (1234abcd)" for messages. */
void	report_label(const cJSON *entry, char *out, size_t out_len);

/*
 * words joined with spaces, each quoted where a shell needs it to read the
 * word back; NULL when out of memory.
 */
char	*report_shell_words(const char *const *words, size_t count);

/* The status table of rows; wide adds full ids and the command. */
void	report_table(FILE *out, const struct snapshot *s, const cJSON *const *rows, size_t count,
	    bool wide);
/* Prometheus text format 0.0.4. daemon_uptime < 0 when unknown. */
void	report_metrics(FILE *out, const struct snapshot *s, double daemon_uptime);
/* One line for an event: time in UTC, event, name, short id, pid, what happened. */
void	report_event(FILE *out, const cJSON *event);

/*
 * " key=value" for each member of object not named in skipped (words
 * separated by single spaces), printable; only strings and numbers when
 * scalars_only.
 */
void	report_members(FILE *out, const cJSON *object, const char *skipped, bool scalars_only);

/* text as it goes to a terminal: controls, C1 controls and bidi overrides as '?'. */
void		 report_put_printable(FILE *out, const char *text);

#endif
