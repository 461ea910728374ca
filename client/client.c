/*
 * The client commands (SPEC 7): status, restart, call, forward, stop, start,
 * signal, events, wait and metrics. Each opens one connection, makes its
 * calls, prints what comes back and exits 0 when they finished, 1 when one
 * failed or the daemon did not answer, 2 on a usage error (status: 3 and 4
 * as LSB status).
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "client/client.h"
#include "client/jsonline.h"
#include "client/report.h"
#include "lib/clock.h"
#include "lib/fmt.h"
#include "lib/log.h"
#include "lib/num.h"
#include "lib/procfs.h"
#include "lib/signame.h"
#include "lib/socket_default.h"
#include "lib/opt.h"
#include "lib/usage.h"

#define EXIT_NOT_RUNNING	3	/* LSB status: a listed worker does not run */
#define EXIT_UNKNOWN		4	/* LSB status: a named worker is not registered */
/*
 * How long a client waits for its call to finish, so that it never hangs on
 * a daemon that is stopped or stuck. A forward with a timeout waits that long
 * and a grace period; an operation with a duration waits that long more.
 */
#define WAIT_SECONDS		30
#define TEXT_OF(number)		#number
#define NUMBER_TEXT(macro)	TEXT_OF(macro)	/* "30" for WAIT_SECONDS */
#define WAIT_DEFAULT_SECONDS	10	/* wait */
#define STOP_DEFAULT_SECONDS	10	/* stop: TERM, then KILL after this long */
#define TIMEOUT_GRACE_SECONDS	5
#define RESTART_EVENT_MS	1000	/* how long restart waits for its event */
#define CONNECT_RETRY_MS	20	/* while the daemon's backlog is full */
#define CLIENT_MAX_LINE		(64 * 1024 * 1024)	/* status of very many workers */
#define CLIENT_MAX_OUTPUT	(64 * 1024 * 1024)
#define PARSE_DEPTH		64	/* below this, values of a deeper line read as null */
#define MATCHES_MAX		64

struct client {
	const char	*socket_path;
	struct jl_conn	 conn;
	bool		 any_owner;
	bool		 json;		/* --json: raw lines */
	bool		 wide;
	double		 timeout;	/* --timeout, seconds, or 0 */
	double		 number;	/* --backlog */
	const char	*state;		/* wait --state */
	int		 first_operand;
	int		 argc;
	char		**argv;
	long		 next_id;	/* ours are even */
	int64_t		 deadline;	/* monotonic ms, -1 for none */
};

/* Arrays, not pointers: a table of pointers costs a relocation each in a PIE. */
struct command {
	char		 name[8];
	char		 options[5];	/* its short options, as opt_init takes them */
	signed char	 min_operands, max_operands;	/* -1: any number */
};

static const struct command *current;
static const char *current_usage;	/* its words after the command */


/* "supervisord: COMMAND: ", what every message of a command starts with. */
static void
say_command(void)
{
	fmt_fprintf(stderr, "supervisord: %s: ", current->name);
}

static void PRINTF_LIKE(1, 2)
say(const char *fmt, ...)
{
	va_list ap;

	say_command();
	va_start(ap, fmt);
	fmt_vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Options */

static bool
parse_seconds(const char *text, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(text, &end);
	return errno == 0 && end != text && *end == '\0' && *out > 0 && *out < 1e9;
}

static int
parse_options(struct client *cl)
{
	static const struct opt_long longopts[] = {
		{ "json", 'j', false }, { "wide", 'w', false }, { "timeout", 't', true },
		{ "backlog", 'b', true }, { "state", 'S', true }, { "any-owner", 'O', false },
		{ "", 0, false },
	};
	struct opt_parser parser;
	int option, operands;

	opt_init(&parser, cl->argc, cl->argv, current->options, longopts);
	while ((option = opt_next(&parser)) != OPT_END) {
		char *arg = parser.value;

		/* Long options belong to the commands whose usage names them. */
		if (option >= 0 && option != 'O' && strchr(current->options, option) == NULL)
			option = OPT_UNKNOWN;
		switch (option) {
		case 'j': cl->json = true; break;
		case 'w': cl->wide = true; break;
		case 'O': cl->any_owner = true; break;
		case 'S': cl->state = arg; break;
		case 't':
			if (!parse_seconds(arg, &cl->timeout))
				return usage_fail(current->name, current_usage, "--timeout: '%s' is not a positive number of seconds", arg);
			break;
		case 'b':
			if (!parse_seconds(arg, &cl->number) && strcmp(arg, "0") != 0)
				return usage_fail(current->name, current_usage, "--backlog: '%s' is not a count of events", arg);
			break;
		default:
			return usage_bad_option(current->name, current_usage, &parser, option);
		}
	}
	if (cl->json && cl->wide)
		return usage_fail(current->name, current_usage, "--json and --wide do not go together");
	cl->first_operand = parser.index;
	operands = cl->argc - parser.index;
	if (operands < current->min_operands)
		return usage_fail(current->name, current_usage, "missing operand");
	if (current->max_operands >= 0 && operands > current->max_operands)
		return usage_fail(current->name, current_usage, "unexpected argument '%s'", cl->argv[parser.index + current->max_operands]);
	return 0;
}

/* Talking to the daemon */

static int
connect_daemon(struct client *cl)
{
	char why[320];
	int64_t give_up = mono_now_ms() + WAIT_SECONDS * 1000;
	const char *path = cl->socket_path;

	if (jl_is_open(&cl->conn))
		return 0;
	while (jl_open(&cl->conn, path, !cl->any_owner, why, sizeof(why)) == -1) {
		if (why[0] != '\0') {
			fmt_fprintf(stderr, "supervisord: %s\n", why);
			return -1;
		}
		if ((errno == EAGAIN || errno == EINTR) && mono_now_ms() < give_up) {
			poll(NULL, 0, CONNECT_RETRY_MS);
			continue;
		}
		fmt_fprintf(stderr, "supervisord: cannot connect to %s: ", path);
		if (errno == ENAMETOOLONG)
			fmt_fprintf(stderr, "path too long (%zu > %zu bytes)\n", strlen(path),
			    sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		else if (errno == ECONNREFUSED || errno == ENOENT)
			fmt_fprintf(stderr, "%s (is the daemon running?%s)\n", strerror(errno),
			    strcmp(path, SUPERVISORD_SOCKET) == 0 ? " " SOCKET_DEFAULT_HINT : "");
		else
			fmt_fprintf(stderr, "%s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Sends request with the next even id, which it returns; -1 after saying
 * why not. A request written with an id of its own keeps it. Frees request.
 */
static long
send_request(struct client *cl, cJSON *request)
{
	long id = cl->next_id;

	if (cJSON_GetObjectItemCaseSensitive(request, "id") == NULL) {
		cl->next_id += 2;
		cJSON_AddNumberToObject(request, "id", (double)id);
	}
	if (connect_daemon(cl) == -1) {
		id = -1;
	} else if (jl_send_json(&cl->conn, request) == -1) {
		say("cannot send the request: %s", errno == ENOBUFS ? "too long" : strerror(errno));
		id = -1;
	}
	cJSON_Delete(request);
	return id;
}

struct call;
static int	reply_line(struct client *cl, struct call *call, const char *line, cJSON *msg);

/* Hands every complete line already read to reply_line; returns what it said, or 0. */
static int
drain_lines(struct client *cl, struct call *call)
{
	enum jl_line_result result;
	char *line;
	size_t len;

	while ((result = jl_next_line(&cl->conn, &line, &len)) != JL_NONE) {
		cJSON *msg;
		int done;

		if (result == JL_TOO_LONG) {
			say("skipped a reply longer than %d bytes", CLIENT_MAX_LINE);
			continue;
		}
		if (len == 0)
			continue;
		msg = jl_parse(line, len, PARSE_DEPTH);
		if (msg != NULL && !cJSON_IsObject(msg)) {
			cJSON_Delete(msg);
			msg = NULL;
		}
		done = reply_line(cl, call, line, msg);
		cJSON_Delete(msg);
		if (done != 0)
			return done;
	}
	return 0;
}

/*
 * Reads replies and hands each line to reply_line until it says done (1),
 * gives up (-1), the connection ends (-1) or the deadline passes (0, or
 * -1 after saying so when quiet_timeout is false).
 */
static int
pump(struct client *cl, struct call *call, bool quiet_timeout)
{
	for (;;) {
		struct pollfd pfd = { .fd = cl->conn.fd, .events = jl_poll_events(&cl->conn) };
		int64_t left;
		int status, read_status;

		/* Lines read along with an earlier call's last reply come first. */
		if ((status = drain_lines(cl, call)) != 0)
			return status;
		left = cl->deadline == -1 ? -1 : cl->deadline - mono_now_ms();
		if (cl->deadline != -1 && left <= 0) {
			if (quiet_timeout)
				return 0;
			say("no reply from %s in time (is the daemon stuck?)", cl->socket_path);
			return -1;
		}
		if (poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left) == -1) {
			if (errno == EINTR)
				continue;
			say("poll: %s", strerror(errno));
			return -1;
		}
		if ((pfd.revents & POLLOUT) && jl_flush(&cl->conn) == -1) {
			say("writing to %s: %s", cl->socket_path, strerror(errno));
			return -1;
		}
		if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		if ((read_status = jl_read(&cl->conn)) == 1)
			continue;
		if ((status = drain_lines(cl, call)) != 0)
			return status;
		if (read_status == 0)
			say("the daemon at %s closed the connection before the call finished",
			    cl->socket_path);
		else
			say("reading from %s: %s", cl->socket_path, strerror(errno));
		return -1;
	}
}

static bool
is_reply_to(const cJSON *msg, long id)
{
	const cJSON *msg_id = cJSON_GetObjectItemCaseSensitive(msg, "id");

	/* Failures the daemon could not tie to a request (a line too long) carry no id. */
	if (msg_id == NULL)
		return cJSON_GetObjectItemCaseSensitive(msg, "do") == NULL;
	return cJSON_IsNumber(msg_id) && msg_id->valuedouble == (double)id;
}

/*
 * One call: its id, what to do with intermediate replies, and the final
 * one kept. An events call (events) stays open: its replies are events.
 */
struct call {
	struct call	*side;		/* an events call answered on the same connection */
	long		 id;
	const cJSON	*raw_id;	/* call: the caller's own id */
	bool		 print_raw;	/* every reply line to stdout */
	bool		 events;
	bool		 print;		/* events: print each event */
	bool		 subscribed;	/* events: the daemon said so */
	cJSON		*sections;	/* status: the monitors' sections, by name */
	cJSON		*last;		/* events: the last event, when not printed */
	cJSON		*final;
};

/* Frees what a call kept. */
static void
end_call(struct call *call)
{
	cJSON_Delete(call->sections);
	cJSON_Delete(call->last);
	cJSON_Delete(call->final);
}

/* Whether a reply's id is the one a call was written with (a number or a string). */
static bool
same_id(const cJSON *id, const cJSON *written)
{
	if (id == NULL || (id->type & 0xff) != (written->type & 0xff))
		return false;
	return cJSON_IsString(id) ? strcmp(id->valuestring, written->valuestring) == 0 :
	    id->valuedouble == written->valuedouble;
}

/*
 * Handles one reply line (msg is parsed; NULL when it is not a JSON
 * object): 1 when done (an events call: subscribed, or an event kept), 0
 * to wait for more, -1 to give up (an events call ended).
 */
static int
reply_line(struct client *cl, struct call *call, const char *line, cJSON *msg)
{
	const cJSON *id;

	if (msg == NULL)
		return 0;
	if (call->side != NULL && reply_line(cl, call->side, line, msg) != 0)
		return 0;
	id = cJSON_GetObjectItemCaseSensitive(msg, "id");
	if (call->raw_id != NULL ? id != NULL && !same_id(id, call->raw_id) :
	    !is_reply_to(msg, call->id))
		return 0;
	/* The line as it came (jl_next_line ends it with a NUL; it holds no other). */
	if (call->print_raw) {
		puts(line);
		fflush(stdout);
	}
	if (jl_is_finished(msg)) {
		call->final = cJSON_Duplicate(msg, true);
		return call->events ? -1 : 1;
	}
	if (!call->events) {
		cJSON *item;
		while (call->sections != NULL && (item = msg->child) != NULL) {
			cJSON_DetachItemViaPointer(msg, item);
			if (strcmp(item->string, "id") == 0 ||
			    !cJSON_AddItemToObject(call->sections, item->string, item))
				cJSON_Delete(item);
		}
		return 0;
	}
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "subscribed"))) {
		call->subscribed = true;
		return 1;
	}
	if (call->print) {
		if (cl->json)
			puts(line);
		else
			report_event(stdout, msg);
		fflush(stdout);
		return ferror(stdout) ? -1 : 0;
	}
	cJSON_Delete(call->last);
	call->last = cJSON_Duplicate(msg, true);
	return 1;
}

/* The number object's member key holds, or 0. */
static double
number_or_zero(const cJSON *object, const char *key)
{
	const cJSON *value = cJSON_GetObjectItemCaseSensitive(object, key);

	return cJSON_IsNumber(value) ? value->valuedouble : 0;
}

/* Seconds to wait for request to finish. */
static double
wait_seconds(const struct client *cl, const cJSON *request)
{
	const cJSON *operation = cJSON_GetObjectItemCaseSensitive(request, "operation");
	double timeout = number_or_zero(request, "timeout");
	double duration = number_or_zero(cJSON_IsObject(operation) ? operation : request,
	    "duration");

	if (timeout > 0 && timeout < 1e9)
		return timeout + TIMEOUT_GRACE_SECONDS;
	if (duration > 0 && duration < 1e9)
		return duration + WAIT_SECONDS;
	return cl->timeout > 0 ? cl->timeout : WAIT_SECONDS;
}

/*
 * Makes one call (and frees request); returns 0 with call->final set, or
 * -1 after saying why not.
 */
static int
make_call(struct client *cl, cJSON *request, struct call *call)
{
	cl->deadline = mono_now_ms() + num_ceil(wait_seconds(cl, request) * 1000);
	if ((call->id = send_request(cl, request)) == -1)
		return -1;
	return pump(cl, call, false) == 1 ? 0 : -1;
}

static void	*client_alloc(size_t size);

/* Allocation never fails in the client: see client_alloc. */
static cJSON *
new_request(const char *op)
{
	cJSON *request = cJSON_CreateObject();

	cJSON_AddStringToObject(request, "do", op);
	return request;
}

/* Prints a failure in plain words: the error, then any other figures as key=value. */
static void
print_failure(const char *what, const cJSON *final)
{
	const cJSON *error = cJSON_GetObjectItemCaseSensitive(final, "error");

	/* The error and figures come from the daemon or a worker: not raw to a terminal. */
	say_command();
	if (what != NULL) {
		report_put_printable(stderr, what);
		fputs(": ", stderr);
	}
	report_put_printable(stderr, cJSON_IsString(error) ? error->valuestring : "the call failed");
	report_members(stderr, final, "id finished failed error", true);
	fputc('\n', stderr);
}

/*
 * The exit status a call's final reply makes, after saying why when it
 * failed. Frees final; NULL when the call did not finish (and said why).
 */
static int
call_status(cJSON *final)
{
	int status = EXIT_FAILURE;

	if (jl_is_failed(final))
		print_failure(NULL, final);
	else if (final != NULL)
		status = EXIT_SUCCESS;
	cJSON_Delete(final);
	return status;
}

/* status: one call for the whole picture */

/*
 * The status call: on 0, call->final holds the connections and
 * call->sections the monitors' sections. end_call frees them either way.
 */
static int
fetch_status(struct client *cl, struct call *call, bool print_raw)
{
	*call = (struct call){ .print_raw = print_raw, .sections = cJSON_CreateObject() };
	if (make_call(cl, new_request("status"), call) == -1)
		return -1;
	if (jl_is_failed(call->final))
		print_failure(NULL, call->final);
	else if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(call->final, "connections")))
		say("the status reply has no list of connections");
	else
		return 0;
	return -1;
}

static struct snapshot
snapshot_of(const struct call *reply)
{
	struct snapshot s = {
		.sections = reply->sections,
		.connections = cJSON_GetObjectItemCaseSensitive(reply->final, "connections"),
		.now = (double)clock_ms(CLOCK_REALTIME) / 1000,
	};
	return s;
}

static void
print_memory_summary(const cJSON *sections)
{
	const cJSON *section = cJSON_GetObjectItemCaseSensitive(sections, "memory_monitor");
	static const char keys[][18] = { "total_size", "total_size_limit", "free_size_minimum" };
	static const char labels[][23] = {
		"memory monitor: total ", ", total limit ", ", free minimum ",
	};

	if (section == NULL)
		return;
	for (int i = 0; i < 3; i++) {
		const cJSON *value = cJSON_GetObjectItemCaseSensitive(section, keys[i]);
		fputs(labels[i], stdout);
		if (cJSON_IsNumber(value))
			fmt_printf("%.1fM", value->valuedouble / 1048576);
		else
			fputs("-", stdout);
	}
	fputs("\n", stdout);
}

static int
run_status(struct client *cl)
{
	struct call reply;
	struct snapshot s;
	const cJSON **rows = NULL, *entry;
	size_t count = 0, total;
	int status = EXIT_FAILURE;
	bool unknown = false, not_running = false;

	if (fetch_status(cl, &reply, cl->json) == -1)
		goto done;
	s = snapshot_of(&reply);
	total = report_count(s.connections);
	rows = client_alloc((total + 1) * sizeof(*rows));
	/* Rows in the daemon's order: each listed once, however many NAMEs match it. */
	cJSON_ArrayForEach(entry, s.connections) {
		bool listed = cl->first_operand == cl->argc;
		for (int i = cl->first_operand; i < cl->argc; i++) {
			const cJSON *found[MATCHES_MAX];
			size_t n = report_match(s.connections, cl->argv[i], found, MATCHES_MAX);
			while (n-- > 0)
				listed = listed || (n < MATCHES_MAX && found[n] == entry);
		}
		if (listed) {
			rows[count++] = entry;
			not_running = not_running || !report_is_running(entry);
		}
	}
	for (int i = cl->first_operand; i < cl->argc; i++) {
		if (report_match(s.connections, cl->argv[i], NULL, 0) == 0) {
			say("%s is not registered", cl->argv[i]);
			unknown = true;
		}
	}
	if (!cl->json) {
		report_table(stdout, &s, rows, count, cl->wide);
		print_memory_summary(reply.sections);
		if (cl->first_operand == cl->argc)
			fmt_printf("%zu worker%s registered\n", total, total == 1 ? "" : "s");
	}
	status = unknown ? EXIT_UNKNOWN : not_running ? EXIT_NOT_RUNNING : EXIT_SUCCESS;
done:
	free(rows);
	end_call(&reply);
	return status;
}

/* Finding a WORKER (name, id or id prefix) in a status reply */

/* The one connection worker names, or NULL after saying why not. */
static const cJSON *
resolve_worker(const struct call *reply, const char *worker)
{
	const cJSON *connections = cJSON_GetObjectItemCaseSensitive(reply->final, "connections");
	const cJSON *found[MATCHES_MAX];
	size_t count = report_match(connections, worker, found, MATCHES_MAX);

	if (count == 1)
		return found[0];
	say_command();
	report_explain_match(stderr, connections, worker, found, count < MATCHES_MAX ? count :
	    MATCHES_MAX);
	return NULL;
}

/* Forwards operation to entry; returns the final reply (owned), or NULL after saying why. */
static cJSON *
forward_to(struct client *cl, const cJSON *entry, cJSON *operation, double timeout,
    bool print_raw)
{
	cJSON *request = new_request("forward");
	struct call call = { .print_raw = print_raw };

	cJSON_AddStringToObject(request, "connection_id", report_id(entry));
	if (timeout > 0)
		cJSON_AddNumberToObject(request, "timeout", timeout);
	cJSON_AddItemToObject(request, "operation", cJSON_Duplicate(operation, true));
	/* A call that did not finish kept no final reply. */
	return make_call(cl, request, &call) == 0 ? call.final : NULL;
}

/* OPERATION_JSON is an object with a string "do", or a bare operation name. */
static cJSON *
parse_operation(const char *text)
{
	cJSON *operation;

	if (text[0] != '\0' &&
	    strspn(text, "abcdefghijklmnopqrstuvwxyz_0123456789") == strlen(text)) {
		return new_request(text);
	}
	operation = jl_parse(text, strlen(text), 0);
	if (!cJSON_IsObject(operation) ||
	    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(operation, "do"))) {
		cJSON_Delete(operation);
		return NULL;
	}
	return operation;
}

static int
run_forward(struct client *cl)
{
	cJSON *operation = parse_operation(cl->argv[cl->first_operand + 1]);
	struct call reply;
	const cJSON *entry;
	int status = EXIT_FAILURE;

	if (operation == NULL)
		return usage_fail(current->name, current_usage, "'%s' is not an operation name or a JSON object with a \"do\" string",
		    cl->argv[cl->first_operand + 1]);
	if (fetch_status(cl, &reply, false) == 0 &&
	    (entry = resolve_worker(&reply, cl->argv[cl->first_operand])) != NULL)
		status = call_status(forward_to(cl, entry, operation, cl->timeout, true));
	end_call(&reply);
	cJSON_Delete(operation);
	return status;
}

/* stop, start, signal */

/* How the last child ended, from its last_exit (SPEC 7). */
static void
put_exit(const cJSON *last_exit)
{
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(last_exit, "status");
	const cJSON *sig = cJSON_GetObjectItemCaseSensitive(last_exit, "signal");

	if (cJSON_IsNumber(code)) {
		fmt_printf("exited with status %.0f", code->valuedouble);
	} else if (cJSON_IsString(sig)) {
		fputs("was killed by ", stdout);
		report_put_printable(stdout, sig->valuestring);
	} else {
		fputs("ended", stdout);
	}
}

/*
 * Applies stop, start or signal (with signal_name) to each WORKER operand;
 * prints one line per worker.
 */
static int
run_lifecycle(struct client *cl, const char *op, const char *signal_name)
{
	struct call reply;
	cJSON *operation = new_request(op);
	int status = EXIT_SUCCESS;
	int last = signal_name != NULL ? cl->first_operand + 1 : cl->argc;
	bool stop = op[2] == 'o';	/* "stop", not "start" or "signal" */
	double stop_timeout = cl->timeout > 0 ? cl->timeout : STOP_DEFAULT_SECONDS;

	if (signal_name != NULL)
		cJSON_AddStringToObject(operation, "signal", signal_name);
	if (stop)
		cJSON_AddNumberToObject(operation, "timeout", stop_timeout);
	if (fetch_status(cl, &reply, false) == -1)
		last = 0;
	for (int i = cl->first_operand; i < last; i++) {
		const cJSON *entry = resolve_worker(&reply, cl->argv[i]);
		const cJSON *sig;
		double pid;
		char label[160];
		cJSON *final;

		if (entry == NULL || (final = forward_to(cl, entry, operation,
		    stop ? stop_timeout + TIMEOUT_GRACE_SECONDS : 0, false)) == NULL) {
			status = EXIT_FAILURE;
			continue;
		}
		report_label(entry, label, sizeof(label));
		pid = number_or_zero(final, "process_id");
		sig = cJSON_GetObjectItemCaseSensitive(final, "signal");
		if (jl_is_failed(final)) {
			print_failure(label, final);
			status = EXIT_FAILURE;
		} else if (signal_name != NULL) {
			/* What the worker replies goes to a terminal: not raw. */
			fmt_printf("%s: sent ", label);
			report_put_printable(stdout, cJSON_IsString(sig) ? sig->valuestring : signal_name);
			fmt_printf(" to pid %.0f\n", pid);
		} else if (stop) {
			fmt_printf("%s: stopped; pid %.0f ", label, pid);
			put_exit(cJSON_GetObjectItemCaseSensitive(final, "last_exit"));
			fputc('\n', stdout);
		} else {
			fmt_printf("%s: %s pid %.0f\n", label,
			    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(final, "already_running")) ?
			    "already running as" : "started as", pid);
		}
		cJSON_Delete(final);
	}
	if (last == 0)
		status = EXIT_FAILURE;
	end_call(&reply);
	cJSON_Delete(operation);
	return status;
}

static int
run_signal(struct client *cl)
{
	const char *sig = cl->argv[cl->first_operand + 1];

	if (signame_parse(sig) == -1)
		return usage_fail(current->name, current_usage, "'%s' is not a signal name or number", sig);
	return run_lifecycle(cl, "signal", sig);
}

/* events: a call that stays open */

/* Opens an events call; returns 0 once subscribed, or -1 after saying why not. */
static int
subscribe(struct client *cl, struct call *sub, double backlog, const char *type,
    bool quiet)
{
	cJSON *request = new_request("events");

	sub->events = true;
	if (backlog > 0)
		cJSON_AddNumberToObject(request, "backlog", (double)(long)backlog);
	if (type != NULL)
		cJSON_AddItemToArray(cJSON_AddArrayToObject(request, "types"), cJSON_CreateString(type));
	if ((sub->id = send_request(cl, request)) == -1)
		return -1;
	cl->deadline = mono_now_ms() + WAIT_SECONDS * 1000;
	if (pump(cl, sub, false) == 1 && sub->subscribed)
		return 0;
	if (sub->final != NULL && !quiet)
		print_failure(NULL, sub->final);
	return -1;
}

static int
run_events(struct client *cl)
{
	struct call sub = { .print = true };
	int status = EXIT_FAILURE;

	/* It ends when the daemon goes away (said so) or stdout does: exit 1 either way. */
	if (subscribe(cl, &sub, cl->number, NULL, false) == 0) {
		cl->deadline = -1;
		(void)pump(cl, &sub, false);
		if (sub.final != NULL)
			print_failure(NULL, sub.final);
	}
	end_call(&sub);
	return status;
}

/* wait: subscribe, check status once, then follow events */

/* Whether a worker called name is in the wanted state; state is what one is in, or NULL. */
static bool
name_ready(const cJSON *connections, const char *name, const char *wanted, const char **state)
{
	const cJSON *entry;
	bool ready = false;

	*state = NULL;
	cJSON_ArrayForEach(entry, connections) {
		const char *entry_name = report_name(entry);
		if (entry_name == NULL || strcmp(entry_name, name) != 0)
			continue;
		*state = report_state(entry);
		ready = ready || strcmp(*state, wanted) == 0;
	}
	return ready;
}

/*
 * Whether every NAME is registered and in the wanted state. With why, says
 * there which are not, and in what state they are.
 */
static bool
all_ready(const struct client *cl, const cJSON *connections, FILE *why)
{
	const char *state;
	bool ready = true;

	for (int i = cl->first_operand; i < cl->argc; i++) {
		if (name_ready(connections, cl->argv[i], cl->state, &state))
			continue;
		if (why == NULL)
			return false;
		fmt_fprintf(why, "%s%s (", ready ? "still missing: " : ", ", cl->argv[i]);
		report_put_printable(why, state != NULL ? state : "not registered");
		fputc(')', why);
		ready = false;
	}
	return ready;
}

static int
run_wait(struct client *cl)
{
	struct call sub = { .print = false };
	struct call reply = { .final = NULL };
	double seconds = cl->timeout > 0 ? cl->timeout : WAIT_DEFAULT_SECONDS;
	int64_t give_up = mono_now_ms() + num_ceil(seconds * 1000);
	const cJSON *connections;
	int status = EXIT_FAILURE;

	if (cl->state == NULL)
		cl->state = "running";
	if (subscribe(cl, &sub, 0, NULL, false) == -1)
		goto done;
	/* Subscribed first, so nothing that happens after this status is missed. */
	for (;;) {
		end_call(&reply);
		if (fetch_status(cl, &reply, false) == -1)
			goto done;
		connections = cJSON_GetObjectItemCaseSensitive(reply.final, "connections");
		if (all_ready(cl, connections, NULL)) {
			status = EXIT_SUCCESS;
			goto done;
		}
		/* Events that arrived during the status call are in the buffer still. */
		cl->deadline = give_up;
		if (pump(cl, &sub, true) != 1)
			break;
	}
	if (sub.final == NULL && mono_now_ms() >= give_up) {
		say_command();
		fmt_fprintf(stderr, "timed out after %g s; ", seconds);
		all_ready(cl, connections, stderr);
		fputc('\n', stderr);
	} else if (sub.final != NULL) {
		print_failure(NULL, sub.final);
	}
done:
	end_call(&reply);
	end_call(&sub);
	return status;
}

/* metrics */

/* How long the daemon at the other end has run, from /proc; -1 when unknown. */
static double
daemon_uptime(const struct client *cl)
{
	struct proc_stat st;

	if (cl->conn.peer_pid <= 0 || procfs_stat(cl->conn.peer_pid, &st) == -1)
		return -1;
	/* Ticks stay far below 2^63: a signed conversion is one instruction. */
	return num_clamp(procfs_uptime() - (double)(int64_t)st.start_ticks /
	    (double)procfs_clock_ticks(), 0, 1e12);
}

static int
run_metrics(struct client *cl)
{
	struct call reply;
	struct snapshot s;
	int status = EXIT_FAILURE;

	if (fetch_status(cl, &reply, false) == 0) {
		s = snapshot_of(&reply);
		report_metrics(stdout, &s, daemon_uptime(cl));
		status = EXIT_SUCCESS;
	}
	end_call(&reply);
	return status;
}

/* restart: says what was signalled, from the reply or the daemon's restart event */


static void
print_restart(const cJSON *final, const cJSON *event, const char *asked)
{
	const cJSON *source = event != NULL ? event : final;
	const cJSON *sig = cJSON_GetObjectItemCaseSensitive(source, "signal");
	const cJSON *target = cJSON_GetObjectItemCaseSensitive(source, "target");
	const cJSON *pid = cJSON_GetObjectItemCaseSensitive(source, "target_process_id");
	const char *name = cJSON_IsString(sig) ? sig->valuestring : asked;

	if (cJSON_IsString(target) && strcmp(target->valuestring, "none") == 0)
		fmt_printf("nothing signalled: the daemon runs with --restart-target=none (asked for %s)\n",
		    name);
	else if (cJSON_IsNumber(pid))
		fmt_printf("sent %s to %s %.0f\n", name, cJSON_IsString(target) &&
		    strcmp(target->valuestring, "group") == 0 ? "process group" : "pid",
		    pid->valuedouble);
	else
		fmt_printf("restart requested with %s; the daemon did not say what it signalled\n", name);
}

static int
run_restart(struct client *cl)
{
	const char *sig = cl->first_operand < cl->argc ? cl->argv[cl->first_operand] : NULL;
	struct call sub = { .print = false };
	cJSON *request;
	struct call call = { .side = &sub };
	int status = EXIT_FAILURE;
	char asked[16];

	if (sig != NULL && signame_parse(sig) == -1)
		return usage_fail(current->name, current_usage, "'%s' is not a signal name or number", sig);
	signame_format(sig != NULL ? signame_parse(sig) : 2, asked, sizeof(asked));
	request = new_request("restart");
	if (sig != NULL)
		cJSON_AddStringToObject(request, "signal", sig);
	/*
	 * The final reply may say nothing of the target; the restart event
	 * does. A daemon without events still gets its restart.
	 */
	if (subscribe(cl, &sub, 0, "restart", true) == -1) {
		cJSON_Delete(sub.final);
		sub.final = NULL;
		call.side = NULL;
		if (!jl_is_open(&cl->conn)) {
			cJSON_Delete(request);
			goto done;
		}
	}
	if (make_call(cl, request, &call) == -1)
		goto done;
	if (jl_is_failed(call.final)) {
		print_failure("nothing signalled", call.final);
		goto done;
	}
	if (sub.subscribed && sub.last == NULL &&
	    !cJSON_GetObjectItemCaseSensitive(call.final, "target")) {
		cl->deadline = mono_now_ms() + RESTART_EVENT_MS;
		(void)pump(cl, &sub, true);
	}
	print_restart(call.final, sub.last, asked);
	status = EXIT_SUCCESS;
done:
	end_call(&call);
	end_call(&sub);
	return status;
}

/* call */

static int
run_call(struct client *cl)
{
	const char *text = cl->argv[cl->first_operand];
	cJSON *request = jl_parse(text, strlen(text), 0), *id;
	struct call call = { .print_raw = true };
	int status;

	if (!cJSON_IsObject(request)) {
		cJSON_Delete(request);
		return usage_fail(current->name, current_usage, "'%s' is not a JSON object such as '{\"do\":\"status\"}'",
		    cl->argv[cl->first_operand]);
	}
	id = cJSON_GetObjectItemCaseSensitive(request, "id");
	if (id != NULL && !cJSON_IsNumber(id) && !cJSON_IsString(id)) {
		cJSON_Delete(request);
		return usage_fail(current->name, current_usage, "'id' must be a number or a string");
	}
	/* The replies are matched by the id as written: a copy outlives the request. */
	call.raw_id = id = cJSON_Duplicate(id, true);
	(void)make_call(cl, request, &call);
	status = call_status(call.final);
	cJSON_Delete(id);
	return status;
}

enum { CMD_STATUS, CMD_RESTART, CMD_CALL, CMD_FORWARD, CMD_STOP, CMD_START, CMD_SIGNAL,
	CMD_EVENTS, CMD_WAIT, CMD_METRICS, COMMANDS };

static const struct command commands[COMMANDS] = {
	[CMD_STATUS] = { "status", "jwt:", 0, -1 },
	[CMD_RESTART] = { "restart", "", 0, 1 },
	[CMD_CALL] = { "call", "", 1, 1 },
	[CMD_FORWARD] = { "forward", "t:", 2, 2 },
	[CMD_STOP] = { "stop", "t:", 1, -1 },
	[CMD_START] = { "start", "", 1, -1 },
	[CMD_SIGNAL] = { "signal", "", 2, 2 },
	[CMD_EVENTS] = { "events", "jb:", 0, 0 },
	[CMD_WAIT] = { "wait", "t:S:", 1, -1 },
	[CMD_METRICS] = { "metrics", "", 0, 0 },
};

/* Each command's usage, in the order of the table above, one after another. */
static const char usages[] =
	"[--json|--wide] [--timeout S] [NAME...]\0"	/* status */
	"[SIGNAL]\0"					/* restart */
	"JSON\0"					/* call */
	"[--timeout S] WORKER OPERATION_JSON\0"		/* forward */
	"[--timeout S] WORKER...\0"			/* stop */
	"WORKER...\0"					/* start */
	"WORKER SIGNAL\0"				/* signal */
	"[--json] [--backlog N]\0"			/* events */
	"[--timeout S] [--state STATE] NAME...\0"	/* wait */
	"";						/* metrics */

static const char *
usage_of(int command)
{
	const char *usage = usages;

	while (command-- > 0)
		usage += strlen(usage) + 1;
	return usage;
}

static int
run_command(struct client *cl, int command)
{
	switch (command) {
	case CMD_STATUS: return run_status(cl);
	case CMD_RESTART: return run_restart(cl);
	case CMD_CALL: return run_call(cl);
	case CMD_FORWARD: return run_forward(cl);
	case CMD_STOP: return run_lifecycle(cl, "stop", NULL);
	case CMD_START: return run_lifecycle(cl, "start", NULL);
	case CMD_SIGNAL: return run_signal(cl);
	case CMD_EVENTS: return run_events(cl);
	case CMD_WAIT: return run_wait(cl);
	default: return run_metrics(cl);
	}
}

/* The command's index, or -1. */
static int
find_command(const char *word)
{
	for (int i = 0; i < COMMANDS; i++) {
		if (strcmp(word, commands[i].name) == 0)
			return i;
	}
	return -1;
}

/*
 * The client's allocations for cJSON: a command that runs out of memory
 * can only say so and end, so no call site has to check.
 */
static void *
client_alloc(size_t size)
{
	void *p = malloc(size);

	if (p == NULL) {
		say("out of memory");
		exit(EXIT_FAILURE);
	}
	return p;
}

/* "usage: supervisord [-s PATH] status ...", lead "" indenting as much. */
static void
put_usage(FILE *out, const char *lead, int command)
{
	fmt_fprintf(out, "%-6s supervisord [-s PATH] %s %s\n", lead, commands[command].name,
	    usage_of(command));
}

bool
client_is_command(const char *word)
{
	return find_command(word) != -1;
}

void
client_usage(FILE *out)
{
	for (int i = 0; i < COMMANDS; i++)
		put_usage(out, "", i);
}

int
client_main(const char *socket_path, int argc, char **argv)
{
	struct client cl = {
		.socket_path = socket_path,
		.argc = argc,
		.argv = argv,
		.next_id = 2,
		.deadline = -1,
	};
	int status, command = find_command(argv[0]);

	if (command == -1) {
		fmt_fprintf(stderr, "supervisord: unknown command '%s'\n", argv[0]);
		return EXIT_USAGE;
	}
	current = &commands[command];
	current_usage = usage_of(command);
	if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		put_usage(stdout, "usage:", command);
		fputs("WORKER is a name, a connection id, or a unique prefix of one (4 characters\n"
		    "or more). Waits at most " NUMBER_TEXT(WAIT_SECONDS) " s for a reply (--timeout where the command takes\n"
		    "it). Exits 0 when the call finished, 1 when it failed or the daemon did not\n"
		    "answer, 2 on a usage error; status exits 3 when a listed worker is not\n"
		    "running and 4 when a named one is not registered. --any-owner talks to a\n"
		    "socket owned by another user than root or us.\n", stdout);
		return EXIT_SUCCESS;
	}
	if ((status = parse_options(&cl)) != 0)
		return status;
	cJSON_InitHooks(&(cJSON_Hooks){ client_alloc, free });
	jl_init(&cl.conn, CLIENT_MAX_LINE, CLIENT_MAX_OUTPUT);
	status = run_command(&cl, command);
	jl_close(&cl.conn);
	if (fflush(stdout) != 0 || ferror(stdout))
		status = status == EXIT_SUCCESS ? EXIT_FAILURE : status;
	return status;
}
