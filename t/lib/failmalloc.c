/*
 * LD_PRELOAD shim for the tests: malloc(FAIL_MALLOC_SIZE) fails with ENOMEM,
 * every other size is served as usual. Lets a test make one allocation of
 * a size it chose (a string of a reply, say) run out of memory.
 */
#include <errno.h>
#include <stdlib.h>

extern void	*__libc_malloc(size_t size);
void		*malloc(size_t size);

void *
malloc(size_t size)
{
	static size_t fail_size;
	const char *text;

	if (fail_size == 0)
		fail_size = (text = getenv("FAIL_MALLOC_SIZE")) != NULL ? strtoul(text, NULL, 10) : (size_t)-1;
	if (size == fail_size) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_malloc(size);
}
