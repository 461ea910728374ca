#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "conn.h"
#include "lib/fmt.h"
#include "lib/jsonw.h"
#include "lib/log.h"
#include "reply.h"

#define OUT_LINE_KEEP	65536	/* a buffer grown past this goes with its reply */

/* Every message is written here first, then queued with one conn_send. */
static struct jsonw out_line;
static size_t out_id_end;	/* out_line starts {,"id":ID up to here; 0 when it holds no id */

/* The first member's comma becomes the opening brace in reply_end, so no part needs to know whether it is first. */
struct jsonw *
reply_begin(const cJSON *id, bool finished)
{
	struct jsonw *w = &out_line;

	jsonw_reset(w);
	out_id_end = 0;
	jsonw_literal(w, "{");
	if (id != NULL) {
		jsonw_literal(w, ",\"id\":");
		jsonw_value(w, id);
		if (!w->failed)
			out_id_end = w->len;
	}
	if (finished)
		jsonw_literal(w, ",\"finished\":true");
	return w;
}

/*
 * The writer failed (out of memory, or a value cJSON cannot print): answer
 * with a fixed failure rather than nothing, so no caller waits forever. It
 * carries the id as far as the message held it.
 */
static void
send_fallback_failure(struct conn *c)
{
	static const char tail[] = ",\"finished\":true,\"failed\":true,\"error\":\"Out of memory\"}\n";
	size_t id_len = out_id_end > 0 ? out_id_end - 1 : 0;	/* ,"id":ID */
	size_t len = id_len + sizeof(tail) - 1;
	char *out = conn_send_room(c, len);

	if (out == NULL)
		return;
	if (id_len > 0)
		memcpy(out, out_line.buf + 1, id_len);
	memcpy(out + id_len, tail, sizeof(tail) - 1);
	out[0] = '{';	/* the first comma */
	conn_send_commit(c, len);
}

void
reply_end(struct conn *c)
{
	size_t len;

	jsonw_literal(&out_line, "}\n");
	if (reply_end_room(c, 0, &len) != NULL)
		conn_send_commit(c, len);
}

char *
reply_end_room(struct conn *c, size_t more, size_t *len)
{
	struct jsonw *w = &out_line;
	size_t start = 0;
	char *out;

	if (w->failed) {
		log_warnx("out of memory printing a reply conn=%llu",
		    (unsigned long long)c->serial);
		send_fallback_failure(c);
		jsonw_reset(w);
		return NULL;
	}
	if (w->buf[1] == ',')
		w->buf[start = 1] = '{';	/* else "{}" */
	*len = w->len - start + more;
	if (more == 0 && w->cap > OUT_LINE_KEEP) {
		/* A big reply (a relayed one) is handed over, not copied. */
		conn_send_owned(c, w->buf, start, *len, w->cap);
		*w = (struct jsonw){ 0 };
		return NULL;
	}
	if ((out = conn_send_room(c, *len)) != NULL) {
		memcpy(out, w->buf + start, w->len - start);
		out += w->len - start;
	}
	jsonw_reset(w);		/* an idle daemon keeps no buffer one big reply grew */
	return out;
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
	fmt_vsnprintf(error, sizeof(error), fmt, ap);
	va_end(ap);
	log_debug("call failed conn=%llu error=%s",
	    (unsigned long long)call->conn->serial, error);
	reply_failure(call->conn, call->id, error, NULL);
}
