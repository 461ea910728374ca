/*
 * Random bytes come from getrandom(2), so a root without /dev (a chroot, an
 * initramfs) still works; /dev/urandom is opened only on a kernel without
 * the call (before 3.17).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/uuid.h"

#ifndef GRND_NONBLOCK
#define GRND_NONBLOCK	0x0001
#endif
#ifndef GRND_INSECURE
#define GRND_INSECURE	0x0004
#endif

/* Read randomness in batches: one call serves 32 registrations. */
static uint8_t pool[512];
static size_t pool_used = sizeof(pool);
static int urandom_fd = -1;
static bool use_getrandom = true;
/* GRND_INSECURE (Linux 5.6) is /dev/urandom's semantics: it never blocks. */
static unsigned int getrandom_flags = GRND_INSECURE;

static long
call_getrandom(void *buf, size_t len, unsigned int flags)
{
#ifdef SYS_getrandom
	return syscall(SYS_getrandom, buf, len, flags);
#else
	(void)buf, (void)len, (void)flags;
	errno = ENOSYS;
	return -1;
#endif
}

static int
open_urandom(void)
{
	if (urandom_fd == -1)
		urandom_fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	return urandom_fd == -1 ? -1 : 0;
}

int
uuid_init(void)
{
	uint8_t probe;

	if (!use_getrandom)
		return open_urandom();
	if (call_getrandom(&probe, 1, GRND_NONBLOCK) == -1 && errno == ENOSYS) {
		use_getrandom = false;
		return open_urandom();
	}
	return 0;
}

void
uuid_shutdown(void)
{
	if (urandom_fd != -1)
		close(urandom_fd);
	urandom_fd = -1;
}

/* Fills buf from getrandom(2), or from /dev/urandom where asked or where getrandom would block. */
static int
read_random(uint8_t *buf, size_t len, bool urandom)
{
	size_t filled = 0;

	if (urandom && open_urandom() == -1)
		return -1;
	while (filled < len) {
		long n = urandom ? read(urandom_fd, buf + filled, len - filled) :
		    call_getrandom(buf + filled, len - filled, getrandom_flags);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && !urandom && errno == EINVAL && getrandom_flags == GRND_INSECURE) {
			getrandom_flags = GRND_NONBLOCK;	/* a kernel before 5.6 */
			continue;
		}
		if (n == -1 && !urandom && errno == EAGAIN) {
			/* Early boot, pool not yet seeded: /dev/urandom's answer, else wait. */
			if (read_random(buf + filled, len - filled, true) == 0)
				return 0;
			getrandom_flags = 0;
			continue;
		}
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		filled += (size_t)n;
	}
	return 0;
}

static int
refill_pool(void)
{
	if (uuid_init() == -1)
		return -1;
	if (read_random(pool, sizeof(pool), !use_getrandom) == -1)
		return -1;
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
