#include <stdint.h>
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <string.h>
#include <sys/mman.h>

#include "lib/log.h"
#include "lib/num.h"
#include "lib/procfs.h"
#include "lib/trim.h"

struct mapping {
	unsigned long	 start, end;
	char		 perms[5];
	unsigned long	 inode;
	unsigned long	 anonymous_kb;
	int		 complete;	/* its Anonymous: line was seen */
};

/*
 * Only pages that were never written are safe to drop: a dropped page is
 * refilled from the file, so a copy-on-write page (relocations, RELRO)
 * would lose its contents. smaps says so per mapping, in "Anonymous:".
 */
static void
drop_if_clean(const struct mapping *m, size_t *dropped_kb)
{
	if (!m->complete || m->inode == 0 || m->anonymous_kb != 0 || m->perms[1] == 'w')
		return;
	if (madvise((void *)m->start, m->end - m->start, MADV_DONTNEED) == 0)
		*dropped_kb += (m->end - m->start) / 1024;
}

/* "7f3a5c000000-7f3a5c021000 r-xp 00000000 08:01 1234 /usr/lib/x": range, perms, inode. */
static void
parse_header(const char *line, struct mapping *m)
{
	const char *end;
	size_t len;
	const char *word;

	memset(m, 0, sizeof(*m));
	m->start = (unsigned long)num_parse(line, &end, 16, NULL);
	if (end == line || *end != '-')
		return;
	line = end + 1;
	m->end = (unsigned long)num_parse(line, &end, 16, NULL);
	if (end == line)
		return;
	line = end;
	word = procfs_word(&line, sizeof(m->perms) - 1, &len);
	memcpy(m->perms, word, len);
	for (int i = 0; i < 2; i++)
		procfs_word(&line, SIZE_MAX, &len);	/* offset, device */
	/* Without every field before it, the inode stays 0: the mapping is never dropped. */
	if (len > 0)
		m->inode = (unsigned long)num_parse(line, NULL, 10, NULL);
}

static int
is_header(const char *line)
{
	/* "7f3a5c000000-7f3a5c021000 r-xp ...": field lines start "Rss:" and the like. */
	return (line[0] >= '0' && line[0] <= '9') || (line[0] >= 'a' && line[0] <= 'f');
}

void
trim_file_pages(void)
{
	struct mapping current = { 0 };
	size_t dropped_kb = 0;
	char *text, *line, *next;

	if (procfs_read("/proc/self/smaps", &text, NULL) == -1) {
		log_debug("trim: cannot read /proc/self/smaps");
		return;
	}
	for (line = text; line != NULL && *line != '\0'; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		if (is_header(line)) {
			drop_if_clean(&current, &dropped_kb);
			parse_header(line, &current);
		} else if (strncmp(line, "Anonymous:", 10) == 0) {
			current.anonymous_kb = (unsigned long)num_parse(line + 10, NULL, 10, NULL);
			current.complete = 1;
		}
	}
	drop_if_clean(&current, &dropped_kb);
	free(text);
	log_debug("trim: dropped clean file pages mapped_kb=%zu", dropped_kb);
}

void
trim_heap(void)
{
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}
