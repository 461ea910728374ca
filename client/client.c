/*
 * The client commands: status, restart, call and forward. Each makes one
 * call on a fresh connection, prints what comes back and exits 0 when the
 * call finished, 1 when it failed or the daemon did not answer, 2 on a usage
 * error.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include <cjson/cJSON.h>

#include "client/client.h"
#include "lib/clock.h"
#include "client/jsonline.h"
#include "lib/log.h"
#include "lib/signame.h"
#include "lib/num.h"

#define EXIT_USAGE		2
/*
 * How long a client waits for its call to finish, so that it never hangs on
 * a daemon that is stopped or stuck. A forward with a timeout waits that long
 * and a grace period; an operation with a duration waits that long more.
 */
#define WAIT_SECONDS		30
#define TIMEOUT_GRACE_SECONDS	5
#define CONNECT_RETRY_MS	20	/* while the daemon's backlog is full */
#define CLIENT_MAX_LINE		(64 * 1024 * 1024)	/* status of very many workers */
#define CLIENT_MAX_OUTPUT	(64 * 1024 * 1024)
#define CLIENT_CALL_ID		2	/* clients use even ids */

struct client {
	const char	*socket_path;
	const char	*command;	/* "status", ... for messages */
	struct jl_conn	 conn;
	cJSON		*request;
	bool		 raw;		/* print every reply line as it comes */
	cJSON		*sections;	/* status: the monitors' sections, by name */
	cJSON		*final;		/* the finished reply */
};

struct command {
	const char	*name;
	const char	*usage;
	/* Builds cl->request from the arguments; returns 0 or EXIT_USAGE. */
	int		(*parse)(struct client *cl, int argc, char **argv);
	/* Prints the outcome of a finished call. */
	void		(*print)(const struct client *cl);
};

static const struct command *current_command;

static int PRINTF_LIKE(1, 2)
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "supervisord: %s: ", current_command->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (usage: supervisord [-s PATH] %s %s)\n", current_command->name,
	    current_command->usage);
	return EXIT_USAGE;
}

/* Parses the options of a command word; returns the index of the first operand, or -1. */
static int
parse_flags(int argc, char **argv, const struct option *longopts, const char *shortopts,
    int (*apply)(struct client *, int, const char *), struct client *cl)
{
	int option;

	optind = 0;		/* GNU getopt: start afresh on this argument vector */
	opterr = 0;
	while ((option = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if (option == '?' || option == ':') {
			usage_error("unknown option or missing value '%s'", argv[optind - 1]);
			return -1;
		}
		if (apply(cl, option, optarg) == -1)
			return -1;
	}
	return optind;
}

static cJSON *
new_request(const char *op)
{
	cJSON *request = cJSON_CreateObject();

	if (request == NULL || cJSON_AddNumberToObject(request, "id", CLIENT_CALL_ID) == NULL ||
	    cJSON_AddStringToObject(request, "do", op) == NULL) {
		cJSON_Delete(request);
		return NULL;
	}
	return request;
}

/* Seconds to wait for the call in request to finish. */
static double
wait_seconds(const cJSON *request)
{
	const cJSON *timeout = cJSON_GetObjectItemCaseSensitive(request, "timeout");
	const cJSON *operation = cJSON_GetObjectItemCaseSensitive(request, "operation");
	const cJSON *duration = cJSON_GetObjectItemCaseSensitive(
	    cJSON_IsObject(operation) ? operation : request, "duration");

	if (cJSON_IsNumber(timeout) && timeout->valuedouble > 0 && timeout->valuedouble < 1e9)
		return timeout->valuedouble + TIMEOUT_GRACE_SECONDS;
	if (cJSON_IsNumber(duration) && duration->valuedouble > 0 && duration->valuedouble < 1e9)
		return duration->valuedouble + WAIT_SECONDS;
	return WAIT_SECONDS;
}

/* Talking to the daemon */

static int
connect_daemon(struct client *cl, int64_t deadline)
{
	while (jl_connect(&cl->conn, cl->socket_path) == -1) {
		if ((errno == EAGAIN || errno == EINTR) && mono_now_ms() < deadline) {
			poll(NULL, 0, CONNECT_RETRY_MS);
			continue;
		}
		if (errno == ENAMETOOLONG)
			fprintf(stderr, "supervisord: cannot connect to %s: path too long (%zu > %zu bytes)\n",
			    cl->socket_path, strlen(cl->socket_path),
			    sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		else if (errno == ECONNREFUSED || errno == ENOENT)
			fprintf(stderr, "supervisord: cannot connect to %s: %s (is the daemon running?)\n",
			    cl->socket_path, strerror(errno));
		else
			fprintf(stderr, "supervisord: cannot connect to %s: %s\n",
			    cl->socket_path, strerror(errno));
		return -1;
	}
	return 0;
}

static bool
is_our_reply(const struct client *cl, const cJSON *msg)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");

	/* Failures the daemon could not tie to a request (a line too long) carry no id. */
	if (id == NULL)
		return cJSON_GetObjectItemCaseSensitive(msg, "do") == NULL;
	return cJSON_Compare(id, cJSON_GetObjectItemCaseSensitive(cl->request, "id"), true);
}

/* Keeps each monitor's section of an intermediate status reply. */
static void
collect_sections(struct client *cl, cJSON *msg)
{
	cJSON *item;

	while ((item = msg->child) != NULL) {
		cJSON_DetachItemViaPointer(msg, item);
		if (strcmp(item->string, "id") == 0 || cl->sections == NULL ||
		    !cJSON_AddItemToObject(cl->sections, item->string, item))
			cJSON_Delete(item);
	}
}

/* Returns true once the call has finished. */
static bool
handle_line(struct client *cl, const char *line, size_t len)
{
	cJSON *msg = cJSON_ParseWithLength(line, len);

	if (!cJSON_IsObject(msg) || !is_our_reply(cl, msg)) {
		cJSON_Delete(msg);
		return false;
	}
	if (cl->raw) {
		fwrite(line, 1, len, stdout);
		putchar('\n');
		fflush(stdout);
	}
	if (jl_is_finished(msg)) {
		cl->final = msg;
		return true;
	}
	collect_sections(cl, msg);
	cJSON_Delete(msg);
	return false;
}

/* Returns 1 once the call has finished, 0 to wait for more, -1 when the connection ended. */
static int
read_replies(struct client *cl)
{
	enum jl_line_result result;
	char *line;
	size_t len;
	int status = jl_read(&cl->conn);

	while ((result = jl_next_line(&cl->conn, &line, &len)) != JL_NONE) {
		if (result == JL_TOO_LONG) {
			fprintf(stderr, "supervisord: %s: skipped a reply longer than %d bytes\n",
			    cl->command, CLIENT_MAX_LINE);
			continue;
		}
		if (handle_line(cl, line, len))
			return 1;
	}
	if (status == 1)
		return 0;
	if (status == 0)
		fprintf(stderr, "supervisord: %s: the daemon at %s closed the connection before the call finished\n",
		    cl->command, cl->socket_path);
	else
		fprintf(stderr, "supervisord: %s: reading from %s: %s\n", cl->command,
		    cl->socket_path, strerror(errno));
	return -1;
}

/* Makes the call; returns 0 once it finished, -1 after saying why it did not. */
static int
run_call(struct client *cl)
{
	double seconds = wait_seconds(cl->request);
	int64_t deadline = mono_now_ms() + num_ceil(seconds * 1000);

	if (connect_daemon(cl, deadline) == -1)
		return -1;
	if (jl_send_json(&cl->conn, cl->request) == -1) {
		fprintf(stderr, "supervisord: %s: cannot send the request: %s\n", cl->command,
		    errno == ENOBUFS ? "too long" : strerror(errno));
		return -1;
	}
	for (;;) {
		struct pollfd pfd = { .fd = cl->conn.fd, .events = jl_poll_events(&cl->conn) };
		int64_t left = deadline - mono_now_ms();
		int status;

		if (left <= 0) {
			fprintf(stderr, "supervisord: %s: no reply from %s within %.0f s (is the daemon stuck?)\n",
			    cl->command, cl->socket_path, seconds);
			return -1;
		}
		if (poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left) == -1) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "supervisord: %s: poll: %s\n", cl->command, strerror(errno));
			return -1;
		}
		if ((pfd.revents & POLLOUT) && jl_flush(&cl->conn) == -1) {
			fprintf(stderr, "supervisord: %s: writing to %s: %s\n", cl->command,
			    cl->socket_path, strerror(errno));
			return -1;
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			if ((status = read_replies(cl)) != 0)
				return status == 1 ? 0 : -1;
		}
	}
}

/* Prints a failure in plain words: the error, then any other figures as key=value. */
static void
print_failure(const struct client *cl)
{
	const cJSON *error = cJSON_GetObjectItemCaseSensitive(cl->final, "error");
	static const char *const skipped[] = { "id", "finished", "failed", "error" };

	fprintf(stderr, "supervisord: %s: %s", cl->command,
	    cJSON_IsString(error) ? error->valuestring : "the call failed");
	for (const cJSON *item = cl->final->child; item != NULL; item = item->next) {
		bool skip = false;
		for (size_t i = 0; i < sizeof(skipped) / sizeof(skipped[0]); i++)
			skip = skip || strcmp(item->string, skipped[i]) == 0;
		if (skip)
			continue;
		if (cJSON_IsString(item))
			fprintf(stderr, " %s=%s", item->string, item->valuestring);
		else if (cJSON_IsNumber(item))
			fprintf(stderr, " %s=%g", item->string, item->valuedouble);
	}
	fputc('\n', stderr);
}

/* status */

static void
format_size(char *out, size_t out_len, const cJSON *bytes)
{
	static const char units[] = "BKMGT";
	double value;
	int unit = 0;

	if (!cJSON_IsNumber(bytes)) {
		snprintf(out, out_len, "-");
		return;
	}
	for (value = bytes->valuedouble; value >= 1024 && unit < 4; unit++)
		value /= 1024;
	if (unit == 0)
		snprintf(out, out_len, "%.0fB", value);
	else
		snprintf(out, out_len, "%.1f%c", value, units[unit]);
}

/* The figures a monitor section keeps about one pid: section.TABLE."PID". */
static const cJSON *
monitor_figures(const struct client *cl, const char *section, const char *table,
    const char *pid_text)
{
	const cJSON *sec = cJSON_GetObjectItemCaseSensitive(cl->sections, section);

	return cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(sec, table), pid_text);
}

enum status_column { COL_ID, COL_PID, COL_NAME, COL_MEMORY, COL_CPU, COL_COMMAND, COLUMNS };

static const char *const column_titles[COLUMNS] = {
	"CONNECTION ID", "PID", "NAME", "MEMORY", "CPU%", "COMMAND",
};

#define STATUS_CELL_MAX	63

struct status_row {
	char	 cells[COLUMNS - 1][STATUS_CELL_MAX + 1];
	char	*command;		/* last column: untruncated; owned */
};

static char *
command_text(const cJSON *command)
{
	char *joined;
	size_t len = 0;

	if (cJSON_IsString(command))
		return strdup(command->valuestring);
	if (!cJSON_IsArray(command))
		return strdup("");
	for (const cJSON *arg = command->child; arg != NULL; arg = arg->next)
		len += (cJSON_IsString(arg) ? strlen(arg->valuestring) : 0) + 1;
	if ((joined = calloc(1, len + 1)) == NULL)
		return NULL;
	for (const cJSON *arg = command->child; arg != NULL; arg = arg->next) {
		if (arg != command->child)
			strcat(joined, " ");
		if (cJSON_IsString(arg))
			strcat(joined, arg->valuestring);
	}
	return joined;
}

static void
fill_row(const struct client *cl, const cJSON *entry, struct status_row *row)
{
	const cJSON *state = cJSON_GetObjectItemCaseSensitive(entry, "state");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(entry, "connection_id");
	const cJSON *pid = cJSON_GetObjectItemCaseSensitive(entry, "process_id");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(state, "name");
	const cJSON *memory, *metrics, *utilization;
	char pid_text[32] = "-";

	if (cJSON_IsNumber(pid))
		snprintf(pid_text, sizeof(pid_text), "%.0f", pid->valuedouble);
	memory = monitor_figures(cl, "memory_monitor", "processes", pid_text);
	metrics = monitor_figures(cl, "process_monitor", "metrics", pid_text);
	snprintf(row->cells[COL_ID], sizeof(row->cells[COL_ID]), "%s",
	    cJSON_IsString(id) ? id->valuestring : "-");
	snprintf(row->cells[COL_PID], sizeof(row->cells[COL_PID]), "%s", pid_text);
	snprintf(row->cells[COL_NAME], sizeof(row->cells[COL_NAME]), "%s",
	    cJSON_IsString(name) ? name->valuestring : "-");
	if (memory != NULL)
		format_size(row->cells[COL_MEMORY], sizeof(row->cells[COL_MEMORY]),
		    cJSON_GetObjectItemCaseSensitive(memory, "current_size"));
	else
		format_size(row->cells[COL_MEMORY], sizeof(row->cells[COL_MEMORY]),
		    cJSON_GetObjectItemCaseSensitive(metrics, "resident_size"));
	utilization = cJSON_GetObjectItemCaseSensitive(metrics, "processor_utilization");
	if (cJSON_IsNumber(utilization))
		snprintf(row->cells[COL_CPU], sizeof(row->cells[COL_CPU]), "%.1f",
		    utilization->valuedouble);
	else
		snprintf(row->cells[COL_CPU], sizeof(row->cells[COL_CPU]), "-");
	row->command = command_text(cJSON_GetObjectItemCaseSensitive(state, "command"));
}

static void
print_row(const char *const cells[COLUMNS], const int widths[COLUMNS], const bool shown[COLUMNS])
{
	char line[COLUMNS * (STATUS_CELL_MAX + 2) + 1];
	size_t used = 0;

	line[0] = '\0';
	for (int col = 0; col < COL_COMMAND; col++) {
		if (shown[col])
			used += (size_t)snprintf(line + used, sizeof(line) - used, "%-*s  ",
			    widths[col], cells[col]);
	}
	/* No padding at the end of a line that has no command. */
	if (cells[COL_COMMAND][0] == '\0')
		while (used > 0 && line[used - 1] == ' ')
			line[--used] = '\0';
	printf("%s%s\n", line, cells[COL_COMMAND]);
}

static void
print_table(const struct client *cl, struct status_row *rows, size_t count)
{
	bool shown[COLUMNS] = { true, true, true, false, false, true };
	int widths[COLUMNS] = { 0 };
	const char *cells[COLUMNS];

	shown[COL_CPU] = cJSON_GetObjectItemCaseSensitive(cl->sections, "process_monitor") != NULL;
	shown[COL_MEMORY] = shown[COL_CPU] ||
	    cJSON_GetObjectItemCaseSensitive(cl->sections, "memory_monitor") != NULL;
	for (int col = 0; col < COLUMNS; col++)
		widths[col] = (int)strlen(column_titles[col]);
	for (size_t i = 0; i < count; i++) {
		for (int col = 0; col < COL_COMMAND; col++) {
			int len = (int)strlen(rows[i].cells[col]);
			if (len > widths[col])
				widths[col] = len;
		}
	}
	print_row(column_titles, widths, shown);
	for (size_t i = 0; i < count; i++) {
		for (int col = 0; col < COL_COMMAND; col++)
			cells[col] = rows[i].cells[col];
		cells[COL_COMMAND] = rows[i].command ? rows[i].command : "";
		print_row(cells, widths, shown);
	}
}

static void
print_memory_summary(const struct client *cl)
{
	const cJSON *section = cJSON_GetObjectItemCaseSensitive(cl->sections, "memory_monitor");
	char total[32], limit[32], minimum[32];

	if (section == NULL)
		return;
	format_size(total, sizeof(total), cJSON_GetObjectItemCaseSensitive(section, "total_size"));
	format_size(limit, sizeof(limit), cJSON_GetObjectItemCaseSensitive(section, "total_size_limit"));
	format_size(minimum, sizeof(minimum),
	    cJSON_GetObjectItemCaseSensitive(section, "free_size_minimum"));
	printf("memory monitor: total %s, total limit %s, free minimum %s\n", total, limit, minimum);
}

static void
print_status(const struct client *cl)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(cl->final, "connections");
	size_t count = (size_t)cJSON_GetArraySize(list), i = 0;
	struct status_row *rows;
	const cJSON *entry;

	if (cl->raw)
		return;
	if ((rows = calloc(count ? count : 1, sizeof(*rows))) == NULL) {
		fprintf(stderr, "supervisord: status: out of memory\n");
		return;
	}
	cJSON_ArrayForEach(entry, list)
		fill_row(cl, entry, &rows[i++]);
	print_table(cl, rows, count);
	print_memory_summary(cl);
	printf("%zu worker%s registered\n", count, count == 1 ? "" : "s");
	for (i = 0; i < count; i++)
		free(rows[i].command);
	free(rows);
}

static int
apply_status_flag(struct client *cl, int option, const char *value)
{
	(void)value;
	if (option == 'j')
		cl->raw = true;
	return 0;
}

static int
parse_status(struct client *cl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	int first = parse_flags(argc, argv, longopts, "+j", apply_status_flag, cl);

	if (first == -1)
		return EXIT_USAGE;
	if (first < argc)
		return usage_error("unexpected argument '%s'", argv[first]);
	if ((cl->request = new_request("status")) == NULL)
		return usage_error("out of memory");
	if (!cl->raw && (cl->sections = cJSON_CreateObject()) == NULL)
		return usage_error("out of memory");
	return 0;
}

/* restart */

static int
apply_no_flag(struct client *cl, int option, const char *value)
{
	(void)cl;
	(void)option;
	(void)value;
	return 0;
}

static const struct option no_options[] = {
	{ NULL, 0, NULL, 0 },
};

static int
parse_restart(struct client *cl, int argc, char **argv)
{
	int first = parse_flags(argc, argv, no_options, "+", apply_no_flag, cl);

	if (first == -1)
		return EXIT_USAGE;
	if (argc - first > 1)
		return usage_error("unexpected argument '%s'", argv[first + 1]);
	if (first < argc && signame_parse(argv[first]) == -1)
		return usage_error("'%s' is not a signal name or number", argv[first]);
	if ((cl->request = new_request("restart")) == NULL ||
	    (first < argc && cJSON_AddStringToObject(cl->request, "signal", argv[first]) == NULL))
		return usage_error("out of memory");
	return 0;
}

static void
print_nothing(const struct client *cl)
{
	(void)cl;
}

/* call */

static int
parse_call(struct client *cl, int argc, char **argv)
{
	int first = parse_flags(argc, argv, no_options, "+", apply_no_flag, cl);
	const cJSON *id;

	cl->raw = true;
	if (first == -1)
		return EXIT_USAGE;
	if (argc - first != 1)
		return usage_error("expects exactly one JSON request");
	cl->request = cJSON_Parse(argv[first]);
	if (!cJSON_IsObject(cl->request))
		return usage_error("'%s' is not a JSON object such as '{\"do\":\"status\"}'", argv[first]);
	id = cJSON_GetObjectItemCaseSensitive(cl->request, "id");
	if (id != NULL && !cJSON_IsNumber(id) && !cJSON_IsString(id))
		return usage_error("'id' must be a number or a string");
	if (id == NULL && cJSON_AddNumberToObject(cl->request, "id", CLIENT_CALL_ID) == NULL)
		return usage_error("out of memory");
	return 0;
}

/* forward */

static int
apply_forward_flag(struct client *cl, int option, const char *value)
{
	char *end;
	double seconds;

	if (option != 't')
		return 0;
	errno = 0;
	seconds = strtod(value, &end);
	if (errno != 0 || end == value || *end != '\0' || !(seconds > 0 && seconds < 1e9)) {
		usage_error("--timeout: '%s' is not a positive number of seconds", value);
		return -1;
	}
	cJSON_AddNumberToObject(cl->request, "timeout", seconds);
	return 0;
}

/* OPERATION_JSON is an object with a string "do", or a bare operation name. */
static cJSON *
parse_operation(const char *text)
{
	cJSON *operation;

	if (text[0] != '{' && strspn(text, "abcdefghijklmnopqrstuvwxyz_0123456789") == strlen(text) &&
	    text[0] != '\0') {
		if ((operation = cJSON_CreateObject()) != NULL)
			cJSON_AddStringToObject(operation, "do", text);
		return operation;
	}
	operation = cJSON_Parse(text);
	if (!cJSON_IsObject(operation) ||
	    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(operation, "do"))) {
		cJSON_Delete(operation);
		return NULL;
	}
	return operation;
}

static int
parse_forward(struct client *cl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	cJSON *operation;
	int first;

	cl->raw = true;
	if ((cl->request = new_request("forward")) == NULL)
		return usage_error("out of memory");
	if ((first = parse_flags(argc, argv, longopts, "+t:", apply_forward_flag, cl)) == -1)
		return EXIT_USAGE;
	if (argc - first != 2)
		return usage_error("expects CONNECTION_ID and OPERATION_JSON");
	if ((operation = parse_operation(argv[first + 1])) == NULL)
		return usage_error("'%s' is not an operation name or a JSON object with a \"do\" string",
		    argv[first + 1]);
	cJSON_AddStringToObject(cl->request, "connection_id", argv[first]);
	cJSON_AddItemToObject(cl->request, "operation", operation);
	return 0;
}

static const struct command commands[] = {
	{ "status", "[--json]", parse_status, print_status },
	{ "restart", "[SIGNAL]", parse_restart, print_nothing },
	{ "call", "JSON", parse_call, print_nothing },
	{ "forward", "[--timeout S] CONNECTION_ID OPERATION_JSON", parse_forward, print_nothing },
};

int
client_main(const char *socket_path, int argc, char **argv)
{
	struct client cl = { .socket_path = socket_path, .command = argv[0] };
	int status = EXIT_USAGE;

	jl_init(&cl.conn, CLIENT_MAX_LINE, CLIENT_MAX_OUTPUT);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[0], commands[i].name) == 0)
			current_command = &commands[i];
	}
	if (current_command == NULL) {
		fprintf(stderr, "supervisord: unknown command '%s'\n", argv[0]);
		return EXIT_USAGE;
	}
	if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		printf("usage: supervisord [-s PATH] %s %s\n"
		    "Waits at most %d s for the reply; a call with a timeout waits that long and %d s\n"
		    "more, one with a duration that long and %d s more. Exits 0 when the call\n"
		    "finished, 1 when it failed or the daemon did not answer, 2 on a usage error.\n",
		    argv[0], current_command->usage, WAIT_SECONDS, TIMEOUT_GRACE_SECONDS, WAIT_SECONDS);
		return EXIT_SUCCESS;
	}
	if (current_command->parse(&cl, argc, argv) != 0)
		goto done;
	status = EXIT_FAILURE;
	if (run_call(&cl) == -1)
		goto done;
	if (jl_is_failed(cl.final)) {
		print_failure(&cl);
		goto done;
	}
	current_command->print(&cl);
	status = fflush(stdout) == 0 && !ferror(stdout) ? EXIT_SUCCESS : EXIT_FAILURE;
done:
	jl_close(&cl.conn);
	cJSON_Delete(cl.request);
	cJSON_Delete(cl.sections);
	cJSON_Delete(cl.final);
	return status;
}
