/* Random (version 4) UUIDs drawn from getrandom(2), else /dev/urandom. */
#ifndef UUID_H
#define UUID_H

#include <stdint.h>

#define UUID_STRING_LEN 36

/* Checks for getrandom(2), else opens /dev/urandom; returns 0, or -1 with errno set. */
int	uuid_init(void);
void	uuid_shutdown(void);
/* Writes a fresh UUID and a NUL into out; returns 0, or -1 with errno set. */
int	uuid_generate(char out[UUID_STRING_LEN + 1]);
/* Formats 16 random bytes as a version 4, RFC 4122 variant UUID. */
void	uuid_format(const uint8_t random_bytes[16], char out[UUID_STRING_LEN + 1]);

#endif
