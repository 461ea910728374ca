#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "client/jsonline.h"
#include "lib/fmt.h"
#include "lib/jsonw.h"

#define READ_CHUNK	65536

void
jl_init(struct jl_conn *c, size_t in_max, size_t out_max)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->in_max = in_max;
	c->out_max = out_max;
}

static int
connect_to(struct jl_conn *c, const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	size_t path_len = strlen(path);
	int fd;

	if (path_len >= sizeof(addr.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(addr.sun_path, path, path_len + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	/*
	 * An AF_UNIX connect completes at once or fails; EAGAIN means the
	 * listener's backlog is full and the caller should try again later.
	 */
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == -1) {
		int saved_errno = errno;
		close(fd);
		errno = saved_errno;
		return -1;
	}
	jl_close(c);
	c->fd = fd;
	return 0;
}

/*
 * "alice (uid 1000)", or "uid 1000" for a user with no name. A static
 * build says only "uid 1000": getpwuid would bring the C library's passwd
 * file reader into it, nearly 2 KB with musl, for a name in one message.
 */
static void
describe_user(uid_t uid, char *out, size_t out_len)
{
#ifndef STATIC_BUILD
	const struct passwd *pw = getpwuid(uid);

	if (pw != NULL) {
		fmt_snprintf(out, out_len, "%s (uid %lu)", pw->pw_name, (unsigned long)uid);
		return;
	}
#endif
	fmt_snprintf(out, out_len, "uid %lu", (unsigned long)uid);
}

/*
 * Whether uid, the owner of the socket file or (peer) of the process
 * listening on it, is someone else than root or our own user; why says so.
 */
static bool
is_foreign(uid_t uid, bool peer, const char *path, char *why, size_t why_len)
{
	const char *as = peer ? "as" : "by";
	char owner[96];

	if (uid == 0 || uid == geteuid())
		return false;
	describe_user(uid, owner, sizeof(owner));
	fmt_snprintf(why, why_len, "%s %s %s %s, not %s root or %s us; refusing to use it"
	    " (--any-owner overrides)", peer ? "the daemon at" : "socket", path,
	    peer ? "runs as" : "is owned by", owner, as, as);
	return true;
}

int
jl_open(struct jl_conn *c, const char *path, bool check_owners, char *why, size_t why_len)
{
	struct stat st;
	struct ucred cred;
	socklen_t cred_len = sizeof(cred);

	why[0] = '\0';
	/* A missing file is connect()'s to report. */
	if (check_owners && stat(path, &st) == 0 && is_foreign(st.st_uid, false, path, why, why_len))
		return -1;
	if (connect_to(c, path) == -1)
		return -1;
	/* The listener's credentials, fixed when it called listen(): no race with the path. */
	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) == -1)
		return 0;
	c->peer_pid = cred.pid;
	if (check_owners && is_foreign(cred.uid, true, path, why, why_len)) {
		jl_close(c);
		return -1;
	}
	return 0;
}

void
jl_close(struct jl_conn *c)
{
	if (c->fd != -1)
		close(c->fd);
	free(c->in_buf);
	free(c->out_buf);
	jl_init(c, c->in_max, c->out_max);
}

static bool
output_pending(const struct jl_conn *c)
{
	return c->out_len > c->out_head;
}


/*
 * Moves the bytes still wanted, buf[*head, *len), to the front, and grows
 * buf (from first bytes, doubling) until wanted more fit. Both the input
 * and the output buffer. Returns 0, or -1 when out of memory.
 */
static int
make_room(char **buf, size_t *head, size_t *len, size_t *cap, size_t wanted, size_t first)
{
	size_t kept = *len - *head, new_cap;
	char *grown;

	if (*head > 0) {
		memmove(*buf, *buf + *head, kept);
		*len = kept;
		*head = 0;
	}
	if (*cap - *len >= wanted)
		return 0;
	new_cap = *cap ? *cap : first;
	while (new_cap - *len < wanted)
		new_cap *= 2;
	if ((grown = realloc(*buf, new_cap)) == NULL)
		return -1;
	*buf = grown;
	*cap = new_cap;
	return 0;
}

/* Input */

/* Drops input up to and including the newline that ends an over-long line. */
static void
skip_discarded(struct jl_conn *c)
{
	char *newline = memchr(c->in_buf + c->in_head, '\n', c->in_len - c->in_head);

	if (newline == NULL) {
		c->in_head = c->in_len = 0;
		return;
	}
	c->in_head = (size_t)(newline - c->in_buf) + 1;
	c->in_scanned = 0;
	c->in_discarding = false;
}

int
jl_read(struct jl_conn *c)
{
	ssize_t n;

	/*
	 * Callers take every complete line after each read, so what is left is
	 * at most in_max bytes of one line and the buffer stays under
	 * in_max + READ_CHUNK.
	 */
	if (make_room(&c->in_buf, &c->in_head, &c->in_len, &c->in_cap, READ_CHUNK, READ_CHUNK) == -1)
		return -1;
	while ((n = read(c->fd, c->in_buf + c->in_len, READ_CHUNK)) == -1 && errno == EINTR)
		;
	if (n == -1)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 1 : -1;
	if (n == 0)
		return 0;
	c->in_len += (size_t)n;
	if (c->in_discarding)
		skip_discarded(c);
	return 1;
}

enum jl_line_result
jl_next_line(struct jl_conn *c, char **line, size_t *len)
{
	char *start, *newline;
	size_t unread = c->in_len - c->in_head;

	if (c->in_buf == NULL)
		return JL_NONE;
	start = c->in_buf + c->in_head;
	newline = unread > c->in_scanned ?
	    memchr(start + c->in_scanned, '\n', unread - c->in_scanned) : NULL;
	if (newline == NULL) {
		c->in_scanned = unread;
		if (unread > c->in_max) {
			/* Memory stays bounded whatever the peer sends. */
			c->in_head = c->in_len = c->in_scanned = 0;
			c->in_discarding = true;
			return JL_TOO_LONG;
		}
		return JL_NONE;
	}
	*line = start;
	*len = (size_t)(newline - start);
	if (*len > 0 && start[*len - 1] == '\r')
		(*len)--;
	start[*len] = '\0';
	c->in_head += (size_t)(newline - start) + 1;
	c->in_scanned = 0;
	if (*len > c->in_max)
		return JL_TOO_LONG;
	return JL_LINE;
}

/* Output */


/* Queues data and a newline whole, or nothing. */
static int
queue_line(struct jl_conn *c, const char *data, size_t len)
{
	if (c->out_len - c->out_head + len + 1 > c->out_max) {
		errno = ENOBUFS;
		return -1;
	}
	if (make_room(&c->out_buf, &c->out_head, &c->out_len, &c->out_cap, len + 1, 4096) == -1)
		return -1;
	memcpy(c->out_buf + c->out_len, data, len);
	c->out_buf[c->out_len + len] = '\n';
	c->out_len += len + 1;
	return 0;
}

int
jl_send_json(struct jl_conn *c, const cJSON *msg)
{
	/* The daemon's printer, not cJSON's: one printer in the binary. */
	static struct jsonw text;

	jsonw_reset(&text);
	jsonw_value(&text, msg);
	if (text.failed) {
		errno = ENOMEM;
		return -1;
	}
	return queue_line(c, text.buf, text.len);
}

int
jl_flush(struct jl_conn *c)
{
	while (output_pending(c)) {
		ssize_t n = send(c->fd, c->out_buf + c->out_head, c->out_len - c->out_head,
		    MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		c->out_head += (size_t)n;
	}
	c->out_head = c->out_len = 0;
	return 0;
}

/* Protocol helpers */

cJSON *
jl_message(const cJSON *id, bool finished)
{
	cJSON *msg = cJSON_CreateObject();

	if (msg == NULL)
		return NULL;
	if (id != NULL && !cJSON_AddItemToObject(msg, "id", cJSON_Duplicate(id, true)))
		goto fail;
	if (finished && cJSON_AddTrueToObject(msg, "finished") == NULL)
		goto fail;
	return msg;
fail:
	cJSON_Delete(msg);
	return NULL;
}

cJSON *
jl_failure(const cJSON *id, const char *error)
{
	cJSON *msg = jl_message(id, true);

	if (msg == NULL)
		return NULL;
	if (cJSON_AddTrueToObject(msg, "failed") == NULL ||
	    cJSON_AddStringToObject(msg, "error", error) == NULL) {
		cJSON_Delete(msg);
		return NULL;
	}
	return msg;
}

bool
jl_is_finished(const cJSON *msg)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "finished"));
}

bool
jl_is_failed(const cJSON *msg)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "failed"));
}

/*
 * Copies text with every value nested deeper than max_depth replaced by
 * null: the container that would open level max_depth + 1 becomes "null",
 * and all up to its end is left out.
 */
static char *
clip_depth(const char *text, size_t len, int max_depth)
{
	/* "{}" (2 bytes) can become "null" (4): at most twice as long. */
	char *out = malloc(2 * len + 5);
	size_t used = 0, i = 0;
	int depth = 0;

	if (out == NULL)
		return NULL;
	while (i < len) {
		size_t start = i;
		char ch = text[i++];
		bool hidden = depth > max_depth;

		if (ch == '"') {
			while (i < len && text[i] != '"')
				i += text[i] == '\\' ? 2 : 1;
			i = i < len ? i + 1 : len;
		} else if (ch == '{' || ch == '[') {
			if (depth++ == max_depth) {
				memcpy(out + used, "null", 4);
				used += 4;
			}
		} else if (ch == '}' || ch == ']') {
			hidden = depth-- > max_depth;
		}
		if (!hidden && depth <= max_depth) {
			memcpy(out + used, text + start, i - start);
			used += i - start;
		}
	}
	out[used] = '\0';
	return out;
}

cJSON *
jl_parse(const char *line, size_t len, int max_depth)
{
	/* The daemon's parse call: one entry point of cJSON's the fewer. */
	cJSON *msg = cJSON_ParseWithLengthOpts(line, len, NULL, false);
	char *clipped;

	if (msg != NULL || max_depth < 1)
		return msg;
	if ((clipped = clip_depth(line, len, max_depth)) == NULL)
		return NULL;
	msg = cJSON_ParseWithLengthOpts(clipped, strlen(clipped), NULL, false);
	free(clipped);
	return msg;
}
