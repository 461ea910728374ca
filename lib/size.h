/* Sizes as operators write them: "4096", "512K", "10M", "1.5G". */
#ifndef SIZE_H
#define SIZE_H

#include <stdint.h>

/* K, M and G are powers of 1024; "KB", "KiB" and lower case are accepted. */
int	size_parse(const char *text, uint64_t *bytes);

#endif
