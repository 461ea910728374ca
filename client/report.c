#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/report.h"
#include "lib/fmt.h"
#include "lib/jsonw.h"
#include "lib/num.h"

#define TABLE_WIDTH	80
#define NAME_MIN_WIDTH	8
#define ID_MAX_SHOWN	12	/* a longer common prefix is too unlikely to make room for */
#define CELL_MAX	64
#define LISTED_MAX	12	/* candidates listed in an error */

static void	copy_printable(char *out, size_t out_len, const char *text);

static const cJSON *
member(const cJSON *object, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(object, key);
}

static const cJSON *
state_member(const cJSON *entry, const char *key)
{
	return member(member(entry, "state"), key);
}

const char *
report_name(const cJSON *entry)
{
	const cJSON *name = state_member(entry, "name");

	return cJSON_IsString(name) ? name->valuestring : NULL;
}

const char *
report_id(const cJSON *entry)
{
	const cJSON *id = member(entry, "connection_id");

	return cJSON_IsString(id) ? id->valuestring : "";
}

const char *
report_state(const cJSON *entry)
{
	const cJSON *status = state_member(entry, "status");

	return cJSON_IsString(status) ? status->valuestring : "running";
}

bool
report_is_running(const cJSON *entry)
{
	return strcmp(report_state(entry), "running") == 0;
}

static bool
number_of(const cJSON *value, double *out)
{
	if (!cJSON_IsNumber(value) || !isfinite(value->valuedouble))
		return false;
	*out = value->valuedouble;
	return true;
}

size_t
report_count(const cJSON *array)
{
	const cJSON *item;
	size_t count = 0;

	cJSON_ArrayForEach(item, array)
		count++;
	return count;
}

/* Finding a worker */

size_t
report_match(const cJSON *connections, const char *worker, const cJSON **found, size_t max)
{
	const cJSON *entry;
	size_t count = 0, len = strlen(worker);
	int pass;

	/*
	 * A full id first; else names and id prefixes together. A name that
	 * happens to be another worker's id prefix (the short id the table
	 * shows, say) is ambiguous, not quietly the named one.
	 */
	for (pass = 0; pass < 2 && count == 0; pass++) {
		cJSON_ArrayForEach(entry, connections) {
			const char *id = report_id(entry), *name = report_name(entry);
			bool hit = pass == 0 ? strcmp(id, worker) == 0 :
			    (name != NULL && strcmp(name, worker) == 0) ||
			    (len >= REPORT_MIN_PREFIX && strncmp(id, worker, len) == 0);
			if (!hit)
				continue;
			if (count < max)
				found[count] = entry;
			count++;
		}
	}
	return count;
}

/* The length of the shortest prefix of entry's id that no other listed id shares. */
static size_t
unique_prefix_len(const cJSON *connections, const cJSON *entry)
{
	const char *id = report_id(entry);
	size_t longest = 0, id_len = strlen(id);
	const cJSON *other;

	cJSON_ArrayForEach(other, connections) {
		const char *other_id = report_id(other);
		size_t common = 0;
		if (other == entry)
			continue;
		while (id[common] != '\0' && id[common] == other_id[common])
			common++;
		if (common > longest)
			longest = common;
	}
	longest = longest + 1 > REPORT_SHORT_ID ? longest + 1 : REPORT_SHORT_ID;
	return longest < id_len ? longest : id_len;
}

void
report_label(const cJSON *entry, char *out, size_t out_len)
{
	const char *name = report_name(entry);

	/* A name goes to a terminal too: no control character raw. */
	fmt_snprintf(out, out_len, "%s (%.8s)", name != NULL ? name : "-", report_id(entry));
	copy_printable(out, out_len, out);
}

void
report_explain_match(FILE *out, const cJSON *connections, const char *worker,
    const cJSON *const *found, size_t count)
{
	const cJSON *entry;
	char label[CELL_MAX * 2];
	size_t listed = 0, total = report_count(connections);

	if (count > 1) {
		fmt_fprintf(out, "%s is ambiguous: it names %zu workers:", worker, count);
		for (size_t i = 0; i < count && i < LISTED_MAX; i++) {
			report_label(found[i], label, sizeof(label));
			fmt_fprintf(out, "%s %s %s", i ? "," : "", label, report_id(found[i]));
		}
		fmt_fprintf(out, "%s; give a full connection id\n", count > LISTED_MAX ? ", ..." : "");
		return;
	}
	if (strlen(worker) < REPORT_MIN_PREFIX && strspn(worker, "0123456789abcdef-") == strlen(worker))
		fmt_fprintf(out, "%s: no worker by that name (an id prefix needs at least %d characters)",
		    worker, REPORT_MIN_PREFIX);
	else
		fmt_fprintf(out, "%s: no worker by that name or id", worker);
	if (total == 0) {
		fmt_fprintf(out, "; none is registered\n");
		return;
	}
	fmt_fprintf(out, "; registered:");
	cJSON_ArrayForEach(entry, connections) {
		if (listed++ == LISTED_MAX) {
			fmt_fprintf(out, " ... (%zu in all)", total);
			break;
		}
		report_label(entry, label, sizeof(label));
		fmt_fprintf(out, "%s %s", listed > 1 ? "," : "", label);
	}
	fputc('\n', out);
}

/* Figures from the monitors' sections */

static const cJSON *
monitor_figures(const struct snapshot *s, const char *section, const char *table,
    const cJSON *entry)
{
	const cJSON *pid = member(entry, "process_id");
	char pid_text[32];

	if (!cJSON_IsNumber(pid))
		return NULL;
	fmt_snprintf(pid_text, sizeof(pid_text), "%.0f", pid->valuedouble);
	return member(member(member(s->sections, section), table), pid_text);
}

static bool
memory_figure(const struct snapshot *s, const cJSON *entry, const char *key, double *out)
{
	const cJSON *memory = monitor_figures(s, "memory_monitor", "processes", entry);
	const cJSON *metrics = monitor_figures(s, "process_monitor", "metrics", entry);

	if (number_of(member(memory, key), out))
		return true;
	if (strcmp(key, "current_size") == 0)
		return number_of(member(metrics, "resident_size"), out);
	if (strcmp(key, "current_private_size") == 0 && metrics != NULL) {
		double clean, dirty;
		const cJSON *m = member(metrics, "memory");
		if (number_of(member(m, "private_clean_size"), &clean) &&
		    number_of(member(m, "private_dirty_size"), &dirty)) {
			*out = clean + dirty;
			return true;
		}
	}
	return false;
}

static bool
cpu_figure(const struct snapshot *s, const cJSON *entry, const char *key, double *out)
{
	return number_of(member(monitor_figures(s, "process_monitor", "metrics", entry), key), out);
}

/* Seconds the worker's child has run, or false when none runs. */
static bool
uptime_of(const struct snapshot *s, const cJSON *entry, double *out)
{
	double since;

	if (!report_is_running(entry))
		return false;
	if (!number_of(state_member(entry, "started_at"), &since) &&
	    !number_of(member(entry, "registered_at"), &since))
		return false;
	*out = s->now > since ? s->now - since : 0;
	return true;
}

/* The table: cells start as "-", and the formatters leave an unknown figure so. */

static void
format_size(char *out, size_t out_len, double bytes)
{
	static const char units[] = "BKMGTP";
	int unit = 0;

	for (; bytes >= 1024 && unit < 5; unit++)
		bytes /= 1024;
	/* Bytes whole; one decimal where it fits in 4 characters: 512B, 1.5K, 120M. */
	fmt_snprintf(out, out_len, "%.*f%c", unit > 0 && bytes < 99.95, bytes, units[unit]);
}

static void
format_duration(char *out, size_t out_len, double seconds)
{
	static const long long units[] = { 1, 60, 3600, 86400 };
	long long s;
	int unit;

	/* A start time a peer made up may lie far off: no conversion out of range. */
	if (!(seconds >= 0 && seconds < 1e10))
		return;
	s = (long long)seconds;
	/* The largest unit that fits, and the next smaller: 59s, 5m03s, 2h07m, 3d04h. */
	unit = s < 60 ? 0 : s < 3600 ? 1 : s < 86400 ? 2 : 3;
	if (unit == 0)
		fmt_snprintf(out, out_len, "%llds", s);
	else
		fmt_snprintf(out, out_len, "%lld%c%02lld%c", s / units[unit], "smhd"[unit],
		    s % units[unit] / units[unit - 1], "smhd"[unit - 1]);
}

enum column { COL_ID, COL_NAME, COL_PID, COL_STATE, COL_UPTIME, COL_RESTARTS, COL_MEMORY,
	COL_CPU, COLUMNS };

static const char titles[COLUMNS][9] = {
	"ID", "NAME", "PID", "STATE", "UPTIME", "RESTARTS", "MEMORY", "CPU%",
};
/*
 * The widest each other column may grow in the 80-column table, whatever
 * a peer put in its state: a longer cell is cut, and the cut shown. They
 * leave the name NAME_MIN_WIDTH of the 80.
 */
static const int widest[COLUMNS] = {
	[COL_ID] = ID_MAX_SHOWN, [COL_NAME] = TABLE_WIDTH, [COL_PID] = 7, [COL_STATE] = 9,
	[COL_UPTIME] = 9, [COL_RESTARTS] = 8, [COL_MEMORY] = 6, [COL_CPU] = 7,
};
static const bool right_aligned[COLUMNS] = {
	[COL_PID] = true, [COL_RESTARTS] = true, [COL_MEMORY] = true, [COL_CPU] = true,
};

struct row {
	char		 text[COLUMNS][CELL_MAX];	/* each cell, but the whole name */
	char		*name;		/* untruncated; NULL shows text[COL_NAME] */
	char		*command;	/* wide only */
};

static const char *
cell(const struct row *row, int col)
{
	return col == COL_NAME && row->name != NULL ? row->name : row->text[col];
}

char *
report_shell_words(const char *const *words, size_t count)
{
	size_t len = 1;
	char *text, *out;

	for (size_t i = 0; i < count; i++)
		len += 4 * strlen(words[i]) + 3;
	if ((text = malloc(len)) == NULL)
		return NULL;
	out = text;
	for (size_t i = 0; i < count; i++) {
		const char *word = words[i];
		bool plain = word[0] != '\0' && strspn(word, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789_@%+=:,./-") == strlen(word);
		if (i > 0)
			*out++ = ' ';
		if (!plain)
			*out++ = '\'';
		for (; *word != '\0'; word++) {
			if (!plain && *word == '\'') {
				memcpy(out, "'\\''", 4);
				out += 4;
			} else {
				*out++ = *word;
			}
		}
		if (!plain)
			*out++ = '\'';
	}
	*out = '\0';
	return text;
}

/* The command as shown: a string as the wrapper quoted it, an array quoted here. */
static char *
command_text(const cJSON *command)
{
	const char **words;
	const cJSON *arg;
	size_t count = 0;
	char *text;

	if (cJSON_IsString(command))
		return strdup(command->valuestring);
	if (!cJSON_IsArray(command))
		return strdup("-");
	if ((words = calloc(report_count(command) + 1, sizeof(*words))) == NULL)
		return NULL;
	cJSON_ArrayForEach(arg, command)
		words[count++] = cJSON_IsString(arg) ? arg->valuestring : "?";
	text = report_shell_words(words, count);
	free(words);
	return text;
}

/*
 * The code point at text (valid UTF-8 or not) and its length in bytes;
 * a byte that starts no valid sequence is U+FFFD, one byte long.
 */
static uint32_t
next_code_point(const char *text, size_t *len)
{
	const unsigned char *p = (const unsigned char *)text;
	uint32_t cp;
	size_t need;

	if (p[0] < 0x80) {
		*len = 1;
		return p[0];
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		need = 1, cp = p[0] & 0x1fu;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		need = 2, cp = p[0] & 0x0fu;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		need = 3, cp = p[0] & 0x07u;
	else
		need = 0, cp = 0;
	for (size_t i = 1; i <= need; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			need = 0;
			break;
		}
		cp = cp << 6 | (p[i] & 0x3fu);
	}
	if (need == 0 || (need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (need == 3 && (cp < 0x10000 || cp > 0x10ffff))) {
		*len = 1;
		return 0xfffd;
	}
	*len = need + 1;
	return cp;
}

/*
 * Characters a terminal acts on instead of showing: C0 and C1 controls,
 * DEL, and the bidirectional overrides and isolates that reorder the rest
 * of the line.
 */
static bool
is_unsafe(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x200e || cp == 0x200f ||
	    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfffd;
}

/* Columns a terminal gives cp: 0 for combining marks, 2 for East Asian wide ones. */
static int
columns_of(uint32_t cp)
{
	/* Combining marks and joiners first, then the East Asian wide ranges. */
	static const uint16_t ranges[][2] = {
		{ 0x300, 0x36f }, { 0x200b, 0x200b }, { 0x200d, 0x200d }, { 0xfe00, 0xfe0f },
		{ 0x1100, 0x115f }, { 0x2e80, 0x303e }, { 0x3040, 0xa4cf }, { 0xac00, 0xd7a3 },
		{ 0xf900, 0xfaff }, { 0xfe30, 0xfe4f }, { 0xff00, 0xff60 }, { 0xffe0, 0xffe6 },
	};

	/* Past the 16-bit table: emoji, and the CJK extensions of planes 2 and 3. */
	if ((cp >= 0x1f300 && cp <= 0x1faff) || (cp >= 0x20000 && cp <= 0x3fffd))
		return 2;
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		if (cp >= ranges[i][0] && cp <= ranges[i][1])
			return i < 4 ? 0 : 2;
	}
	return 1;
}

/* Columns text takes on a terminal (text as copy_printable leaves it). */
static int
display_width(const char *text)
{
	int width = 0;

	for (size_t len; *text != '\0'; text += len)
		width += columns_of(next_code_point(text, &len));
	return width;
}

/* Bytes of text that fill at most max_width columns, never splitting a character. */
static size_t
bytes_within(const char *text, int max_width, int *width)
{
	size_t used = 0, len;

	*width = 0;
	while (text[used] != '\0') {
		int w = columns_of(next_code_point(text + used, &len));

		if (*width + w > max_width)
			break;
		*width += w;
		used += len;
	}
	return used;
}

/*
 * Control characters and the like would break the table (and a terminal):
 * each is shown as '?'. Other characters are copied whole or not at all.
 * out may be text itself: nothing grows.
 */
static void
copy_printable(char *out, size_t out_len, const char *text)
{
	size_t i = 0, o = 0, len;

	while (text[i] != '\0') {
		uint32_t cp = next_code_point(text + i, &len);

		if (is_unsafe(cp)) {
			if (o + 1 >= out_len)
				break;
			out[o++] = '?';
		} else {
			if (o + len >= out_len)
				break;
			memmove(out + o, text + i, len);
			o += len;
		}
		i += len;
	}
	out[o] = '\0';
}

static void
fill_row(const struct snapshot *s, const cJSON *entry, struct row *row, bool wide)
{
	const cJSON *pid = member(entry, "process_id");
	const char *name = report_name(entry);
	double value = 0;
	bool running = report_is_running(entry);
	/* %.*s stops at the id's end: wide shows it whole. */
	size_t prefix = wide ? CELL_MAX : unique_prefix_len(s->connections, entry);

	for (int col = 0; col < COLUMNS; col++)
		strcpy(row->text[col], "-");
	fmt_snprintf(row->text[COL_ID], CELL_MAX, "%.*s", (int)(prefix > ID_MAX_SHOWN && !wide ?
	    ID_MAX_SHOWN : prefix), report_id(entry));
	row->name = strdup(name != NULL ? name : "-");
	if (row->name != NULL)
		copy_printable(row->name, strlen(row->name) + 1, row->name);
	if (cJSON_IsNumber(pid) && running)
		fmt_snprintf(row->text[COL_PID], CELL_MAX, "%.0f", pid->valuedouble);
	copy_printable(row->text[COL_STATE], CELL_MAX, report_state(entry));
	if (uptime_of(s, entry, &value))
		format_duration(row->text[COL_UPTIME], CELL_MAX, value);
	if (number_of(state_member(entry, "restarts"), &value))
		fmt_snprintf(row->text[COL_RESTARTS], CELL_MAX, "%.0f", value);
	if (running && memory_figure(s, entry, "current_size", &value))
		format_size(row->text[COL_MEMORY], CELL_MAX, value);
	if (running && cpu_figure(s, entry, "processor_utilization", &value))
		fmt_snprintf(row->text[COL_CPU], CELL_MAX, "%.1f", value);
	row->command = wide ? command_text(state_member(entry, "command")) : NULL;
	if (row->command != NULL)
		copy_printable(row->command, strlen(row->command) + 1, row->command);
}

static void
print_line(FILE *out, const struct row *row, const int widths[COLUMNS], const char *command)
{
	int spaces = 0;		/* owed before the next text, so no line ends in spaces */

	for (int col = 0; col < COLUMNS; col++) {
		/* Widths are terminal columns, not bytes; a cell too wide is cut, and the cut shown. */
		const char *text = cell(row, col);
		int width = display_width(text), pad = widths[col] - width;
		int bytes = (int)strlen(text);
		bool cut = pad < 0;

		if (cut) {
			bytes = (int)bytes_within(text, widths[col] - 1, &width);
			pad = widths[col] - 1 - width;
		} else if (right_aligned[col]) {
			spaces += pad;
			pad = 0;
		}
		if (bytes > 0 || cut) {
			fmt_fprintf(out, "%*s%.*s%s", spaces, "", bytes, text, cut ? "~" : "");
			spaces = 0;
		}
		spaces += pad + 2;
	}
	if (command != NULL)
		fmt_fprintf(out, "  %s", command);
	fputc('\n', out);
}

void
report_table(FILE *out, const struct snapshot *s, const cJSON *const *rows, size_t count,
    bool wide)
{
	/* The titles are the first row. */
	struct row *table = calloc(count + 1, sizeof(*table));
	int widths[COLUMNS] = { 0 }, others = 0;

	if (table == NULL) {
		fmt_fprintf(stderr, "supervisord: status: out of memory\n");
		return;
	}
	for (int col = 0; col < COLUMNS; col++)
		strcpy(table[0].text[col], titles[col]);
	for (size_t i = 0; i <= count; i++) {
		if (i > 0)
			fill_row(s, rows[i - 1], &table[i], wide);
		for (int col = 0; col < COLUMNS; col++) {
			int len = display_width(cell(&table[i], col));
			if (len > widths[col])
				widths[col] = len;
		}
	}
	for (int col = 0; col < COLUMNS; col++) {
		if (!wide && widths[col] > widest[col])
			widths[col] = widest[col];
		others += col == COL_NAME ? 0 : widths[col] + 2;
	}
	/* The name takes what the other columns leave of 80; --wide leaves it whole. */
	if (!wide && others + widths[COL_NAME] > TABLE_WIDTH)
		widths[COL_NAME] = TABLE_WIDTH - others > NAME_MIN_WIDTH ? TABLE_WIDTH - others :
		    NAME_MIN_WIDTH;
	for (size_t i = 0; i <= count; i++) {
		print_line(out, &table[i], widths, !wide ? NULL : table[i].command ? table[i].command :
		    i == 0 ? "COMMAND" : "-");
		free(table[i].name);
		free(table[i].command);
	}
	free(table);
}

void
report_put_printable(FILE *out, const char *text)
{
	for (size_t len; *text != '\0'; text += len) {
		if (is_unsafe(next_code_point(text, &len)))
			fputc('?', out);
		else
			fmt_fprintf(out, "%.*s", (int)len, text);
	}
}

/* Prometheus text format 0.0.4 */

/*
 * A label value: backslash, double quote and newline escaped, as the format
 * asks. Other controls are valid there but would act on a terminal that
 * shows the output: each is '?', as in the table.
 */
static void
put_label(FILE *out, const char *text)
{
	for (size_t len; *text != '\0'; text += len) {
		uint32_t cp = next_code_point(text, &len);

		if (*text == '\\' || *text == '"')
			fmt_fprintf(out, "\\%c", *text);
		else if (*text == '\n')
			fputs("\\n", out);
		else if (is_unsafe(cp))
			fputc('?', out);
		else
			fwrite(text, 1, len, out);
	}
}

static void
put_number(FILE *out, double value)
{
	if (num_is_whole(value, 9e15))
		fmt_fprintf(out, "%lld\n", (long long)value);
	else
		fmt_fprintf(out, "%.17g\n", value);
}

static void
put_worker_labels(FILE *out, const cJSON *entry)
{
	const char *name = report_name(entry);

	fputs("{name=\"", out);
	put_label(out, name != NULL ? name : "");
	fputs("\",connection_id=\"", out);
	put_label(out, report_id(entry));
	fputc('"', out);
}

/* metric is the name after "supervisord_". */
static void
put_header(FILE *out, const char *metric, bool counter, const char *help)
{
	fmt_fprintf(out, "# HELP supervisord_%s %s\n# TYPE supervisord_%s %s\n", metric, help, metric,
	    counter ? "counter" : "gauge");
}

/*
 * The per-worker metrics, one after another in one string (no pointers to
 * relocate, no padding): where the figure comes from (m memory monitor, c
 * process monitor, s the worker's state), g for a gauge or c for a counter,
 * then the metric's name after "supervisord_", the figure's key and the help
 * text, each ending in a NUL.
 */
static const char worker_metrics[] =
	"sc" "worker_restarts_total\0" "restarts\0"
	    "Times the worker's wrapper started its child again.\0"
	"sg" "worker_start_time_seconds\0" "started_at\0"
	    "When the worker's child started, Unix time.\0"
	"mg" "worker_memory_current_bytes\0" "current_size\0"
	    "Resident size of the worker's process.\0"
	"mg" "worker_memory_maximum_bytes\0" "maximum_size\0"
	    "Largest resident size the memory monitor has seen.\0"
	"mg" "worker_memory_private_bytes\0" "current_private_size\0"
	    "Private (clean and dirty) memory of the worker's process.\0"
	"mg" "worker_memory_shared_bytes\0" "current_shared_size\0"
	    "Shared memory of the worker's process.\0"
	"cg" "worker_cpu_percent\0" "processor_utilization\0"
	    "CPU utilisation of the worker's process, percent of one CPU.\0"
	"cc" "worker_cpu_seconds_total\0" "processor_time\0"
	    "CPU time the worker's process has used.\0";

const char report_statuses[REPORT_STATUSES][9] = {
	"starting", "running", "backoff", "stopped", "exited",
};

/* Puts the metric that starts at m in worker_metrics; returns where the next one starts. */
static const char *
put_worker_metric(FILE *out, const struct snapshot *s, const char *m)
{
	const char *metric = m + 2, *key = metric + strlen(metric) + 1;
	const char *help = key + strlen(key) + 1;
	const cJSON *entry;
	bool header = false;

	cJSON_ArrayForEach(entry, s->connections) {
		double value;
		bool known = m[0] == 'm' ? memory_figure(s, entry, key, &value) :
		    m[0] == 'c' ? cpu_figure(s, entry, key, &value) :
		    number_of(state_member(entry, key), &value);
		if (!known)
			continue;
		if (!header)
			put_header(out, metric, m[1] == 'c', help);
		header = true;
		fmt_fprintf(out, "supervisord_%s", metric);
		put_worker_labels(out, entry);
		fputs("} ", out);
		put_number(out, value);
	}
	return help + strlen(help) + 1;
}

/* Whether entry has a last_action; its monitor and reason, "" when missing. */
static bool
last_action(const cJSON *entry, const char **monitor, const char **reason)
{
	const cJSON *action = member(entry, "last_action");
	const cJSON *m = member(action, "monitor"), *r = member(action, "reason");

	*monitor = cJSON_IsString(m) ? m->valuestring : "";
	*reason = cJSON_IsString(r) ? r->valuestring : "";
	return cJSON_IsObject(action);
}

/* Counts last_action by monitor and reason. */
static void
put_monitor_actions(FILE *out, const struct snapshot *s)
{
	const cJSON *entry, *other;

	put_header(out, "monitor_actions", false,
	    "Registered workers whose last monitor action was this one, by monitor and reason.");
	cJSON_ArrayForEach(entry, s->connections) {
		const char *monitor, *reason, *other_monitor, *other_reason;
		bool seen = false;
		long count = 0;

		if (!last_action(entry, &monitor, &reason))
			continue;
		/* Each (monitor, reason) pair once, at its first connection. */
		cJSON_ArrayForEach(other, s->connections) {
			if (!last_action(other, &other_monitor, &other_reason) ||
			    strcmp(other_monitor, monitor) != 0 || strcmp(other_reason, reason) != 0)
				continue;
			if (other == entry && count > 0)
				seen = true;
			count++;
		}
		if (seen)
			continue;
		fputs("supervisord_monitor_actions{monitor=\"", out);
		put_label(out, monitor);
		fputs("\",reason=\"", out);
		put_label(out, reason);
		fmt_fprintf(out, "\"} %ld\n", count);
	}
}

void
report_metrics(FILE *out, const struct snapshot *s, double daemon_uptime)
{
	const cJSON *entry;
	long workers = 0, connections = 0;

	cJSON_ArrayForEach(entry, s->connections) {
		connections++;
		workers += report_name(entry) != NULL;
	}
	put_header(out, "workers", false, "Registered connections that have a name.");
	fmt_fprintf(out, "supervisord_workers %ld\n", workers);
	put_header(out, "connections", false, "Registered connections.");
	fmt_fprintf(out, "supervisord_connections %ld\n", connections);
	if (daemon_uptime >= 0) {
		put_header(out, "uptime_seconds", false, "How long the daemon has run.");
		fmt_fprintf(out, "supervisord_uptime_seconds %.3f\n", daemon_uptime);
	}
	put_header(out, "worker_up", false, "1 when the worker's child runs, else 0.");
	cJSON_ArrayForEach(entry, s->connections) {
		fputs("supervisord_worker_up", out);
		put_worker_labels(out, entry);
		fmt_fprintf(out, "} %d\n", report_is_running(entry) ? 1 : 0);
	}
	put_header(out, "worker_state", false,
	    "1 for the state the worker is in (starting, running, backoff, stopped, exited).");
	cJSON_ArrayForEach(entry, s->connections) {
		for (size_t i = 0; i < REPORT_STATUSES; i++) {
			fputs("supervisord_worker_state", out);
			put_worker_labels(out, entry);
			fmt_fprintf(out, ",state=\"%s\"} %d\n", report_statuses[i],
			    strcmp(report_state(entry), report_statuses[i]) == 0);
		}
	}
	for (const char *m = worker_metrics; *m != '\0'; )
		m = put_worker_metric(out, s, m);
	put_monitor_actions(out, s);
}

/* Events */

/* Whether key is one of the words in list, which are separated by single spaces. */
static bool
is_listed(const char *list, const char *key)
{
	size_t len = strlen(key);

	for (const char *p = list; p != NULL; p = strchr(p, ' ')) {
		p += *p == ' ';
		if (strncmp(p, key, len) == 0 && (p[len] == ' ' || p[len] == '\0'))
			return true;
	}
	return false;
}

void
report_members(FILE *out, const cJSON *object, const char *skipped, bool scalars_only)
{
	const cJSON *item;

	cJSON_ArrayForEach(item, object) {
		if (is_listed(skipped, item->string) ||
		    (scalars_only && !cJSON_IsString(item) && !cJSON_IsNumber(item)))
			continue;
		fputc(' ', out);
		report_put_printable(out, item->string);
		fputc('=', out);
		if (cJSON_IsString(item)) {
			report_put_printable(out, item->valuestring);
		} else {
			struct jsonw text = { NULL, 0, 0, false };
			jsonw_value(&text, item);
			if (!text.failed)
				fmt_fprintf(out, "%.*s", (int)text.len, text.buf);
			free(text.buf);
		}
	}
}

/*
 * "YYYY-MM-DD HH:MM:SSZ", in UTC: local time (and strftime) would bring
 * the C library's time zone code into a static build, 12 KB with musl, and
 * many small systems have no zone set anyway. The date is computed here,
 * not by gmtime_r (800 bytes with musl): days since 1970 become a
 * proleptic Gregorian date, in 400-year eras counted from 0000-03-01 so
 * that the leap day ends each year.
 */
static void
format_utc(char *out, size_t out_len, double at)
{
	long long seconds;
	int days, era, day_of_era, year_of_era, day_of_year, month, second_of_day;

	/* Within 1e13 s, days fit in an int. */
	if (!(at > -1e13 && at < 1e13))
		return;
	seconds = (long long)at;
	days = (int)(seconds / 86400 - (seconds % 86400 < 0));
	second_of_day = (int)(seconds - (long long)days * 86400);
	days += 719468;		/* 1970-01-01 less 0000-03-01 */
	era = (days >= 0 ? days : days - 146096) / 146097;
	day_of_era = days - era * 146097;
	year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 -
	    day_of_era / 146096) / 365;
	day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
	month = (5 * day_of_year + 2) / 153;	/* 0 for March */
	fmt_snprintf(out, out_len, "%04d-%02d-%02d %02d:%02d:%02dZ",
	    year_of_era + era * 400 + (month >= 10), month < 10 ? month + 3 : month - 9,
	    day_of_year - (153 * month + 2) / 5 + 1, second_of_day / 3600,
	    second_of_day / 60 % 60, second_of_day % 60);
}

void
report_event(FILE *out, const cJSON *event)
{
	const cJSON *type = member(event, "event"), *name = member(event, "name");
	const cJSON *pid = member(event, "process_id");
	double at;
	char when[64], shown_name[CELL_MAX];
	int width;

	strcpy(when, "-");
	if (number_of(member(event, "at"), &at))
		format_utc(when, sizeof(when), at);
	copy_printable(shown_name, sizeof(shown_name), cJSON_IsString(name) ? name->valuestring : "-");
	width = display_width(shown_name);
	fmt_fprintf(out, "%s  %-15s %s%*s %-8.8s ", when,
	    cJSON_IsString(type) ? type->valuestring : "?", shown_name, width < 16 ? 16 - width : 0, "",
	    member(event, "connection_id") ? report_id(event) : "-");
	if (cJSON_IsNumber(pid))
		fmt_fprintf(out, "%7.0f", pid->valuedouble);
	else
		fmt_fprintf(out, "%7s", "-");
	/* What happened: every other member, as key=value. */
	report_members(out, event, "id event at connection_id process_id name", false);
	fputc('\n', out);
}
