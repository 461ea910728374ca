#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "lib/uuid.h"

/* Read randomness in batches: one read(2) serves 32 registrations. */
static uint8_t pool[512];
static size_t pool_used = sizeof(pool);
static int urandom_fd = -1;

int
uuid_init(void)
{
	if (urandom_fd != -1)
		return 0;
	urandom_fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	return urandom_fd == -1 ? -1 : 0;
}

void
uuid_shutdown(void)
{
	if (urandom_fd != -1)
		close(urandom_fd);
	urandom_fd = -1;
}

static int
refill_pool(void)
{
	size_t filled = 0;

	if (urandom_fd == -1 && uuid_init() == -1)
		return -1;
	while (filled < sizeof(pool)) {
		ssize_t n = read(urandom_fd, pool + filled, sizeof(pool) - filled);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		filled += (size_t)n;
	}
	pool_used = 0;
	return 0;
}

void
uuid_format(const uint8_t random_bytes[16], char out[UUID_STRING_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t b[16];
	char *p = out;

	memcpy(b, random_bytes, sizeof(b));
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);	/* version 4 */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);	/* RFC 4122 variant */
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		*p++ = hex[b[i] >> 4];
		*p++ = hex[b[i] & 0x0f];
	}
	*p = '\0';
}

int
uuid_generate(char out[UUID_STRING_LEN + 1])
{
	if (pool_used + 16 > sizeof(pool) && refill_pool() == -1)
		return -1;
	uuid_format(pool + pool_used, out);
	/* Never hand out the same bytes twice, nor keep them around. */
	memset(pool + pool_used, 0, 16);
	pool_used += 16;
	return 0;
}
