#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "conn.h"
#include "lib/jsonw.h"
#include "lib/log.h"
#include "reply.h"

#define MAX_ID_TEXT	512	/* an id as the fallback failure echoes it */

/* Every message is written here first, then queued with one conn_send. */
static struct jsonw out_line;
static const cJSON *out_id;	/* the id of the message in out_line */

/* The first member's comma becomes the opening brace in reply_end, so no part needs to know whether it is first. */
struct jsonw *
reply_begin(const cJSON *id, bool finished)
{
	struct jsonw *w = &out_line;

	jsonw_reset(w);
	out_id = id;
	jsonw_literal(w, "{");
	if (id != NULL) {
		jsonw_literal(w, ",\"id\":");
		jsonw_value(w, id);
	}
	if (finished)
		jsonw_literal(w, ",\"finished\":true");
	return w;
}

/* Writes id's JSON text into out without allocating; returns its length, or 0 if it cannot. */
static size_t
id_text(const cJSON *id, char *out, size_t out_len)
{
	int len = -1;

	if (cJSON_IsRaw(id)) {
		len = snprintf(out, out_len, "%s", id->valuestring);
	} else if (cJSON_IsString(id)) {
		for (const char *p = id->valuestring; *p != '\0'; p++) {
			if ((unsigned char)*p < 0x20 || *p == '"' || *p == '\\')
				return 0;	/* would need escaping */
		}
		len = snprintf(out, out_len, "\"%s\"", id->valuestring);
	} else if (cJSON_IsNumber(id) && isfinite(id->valuedouble)) {
		len = snprintf(out, out_len, "%.17g", id->valuedouble);
	}
	return len > 0 && (size_t)len < out_len ? (size_t)len : 0;
}

/*
 * The writer failed (out of memory, or a value cJSON cannot print): answer
 * with a fixed failure rather than nothing, so no caller waits forever.
 */
static void
send_fallback_failure(struct conn *c, const cJSON *id)
{
	static const char tail[] = "\"finished\":true,\"failed\":true,\"error\":\"Out of memory\"}\n";
	char line[MAX_ID_TEXT + 128], id_buf[MAX_ID_TEXT];
	size_t id_len = id != NULL ? id_text(id, id_buf, sizeof(id_buf)) : 0;
	int len;

	if (id_len > 0)
		len = snprintf(line, sizeof(line), "{\"id\":%.*s,%s", (int)id_len, id_buf, tail);
	else
		len = snprintf(line, sizeof(line), "{%s", tail);
	if (len > 0 && (size_t)len < sizeof(line))
		conn_send(c, line, (size_t)len);
}

void
reply_end(struct conn *c)
{
	struct jsonw *w = &out_line;
	size_t start = 1;

	jsonw_literal(w, "}\n");
	if (w->failed) {
		log_warnx("out of memory printing a reply conn=%llu",
		    (unsigned long long)c->serial);
		jsonw_reset(w);
		send_fallback_failure(c, out_id);
		return;
	}
	if (w->buf[1] == ',')
		w->buf[1] = '{';
	else
		start = 0;	/* "{}" */
	conn_send(c, w->buf + start, w->len - start);
	jsonw_reset(w);		/* an idle daemon keeps no buffer one big reply grew */
}

void
reply_message(struct conn *c, const cJSON *id, bool finished, const cJSON *fields)
{
	if (!conn_accepts_output(c))
		return;
	jsonw_members(reply_begin(id, finished), fields);
	reply_end(c);
}

void
reply_failure(struct conn *c, const cJSON *id, const char *error, const cJSON *extra)
{
	struct jsonw *w;

	if (!conn_accepts_output(c))
		return;
	w = reply_begin(id, true);
	jsonw_literal(w, ",\"failed\":true,\"error\":");
	jsonw_string(w, error);
	jsonw_members(w, extra);
	reply_end(c);
}

void
reply_send(const struct call *call, const cJSON *fields)
{
	reply_message(call->conn, call->id, false, fields);
}

void
reply_finish(const struct call *call, const cJSON *fields)
{
	reply_message(call->conn, call->id, true, fields);
}

void
reply_fail(const struct call *call, const char *fmt, ...)
{
	char error[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(error, sizeof(error), fmt, ap);
	va_end(ap);
	log_debug("call failed conn=%llu error=%s",
	    (unsigned long long)call->conn->serial, error);
	reply_failure(call->conn, call->id, error, NULL);
}
