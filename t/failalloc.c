/*
 * LD_PRELOAD fault injection for the tests: growing an existing block with
 * realloc() to exactly FAILALLOC_REALLOC_SIZE bytes fails with ENOMEM while
 * the file named by FAILALLOC_WHILE exists. realloc(NULL, ...) always works.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

void	*realloc(void *ptr, size_t size);

void *
realloc(void *ptr, size_t size)
{
	static void *(*next)(void *, size_t);
	const char *fail_size = getenv("FAILALLOC_REALLOC_SIZE");
	const char *while_path = getenv("FAILALLOC_WHILE");

	if (ptr != NULL && fail_size != NULL && while_path != NULL &&
	    strtoul(fail_size, NULL, 10) == size && access(while_path, F_OK) == 0) {
		errno = ENOMEM;
		return NULL;
	}
	if (next == NULL)
		*(void **)&next = dlsym(RTLD_NEXT, "realloc");
	return next(ptr, size);
}
