#include "autoconfig.h"

#include <string.h>
#include <sys/random.h>

#include "ulid.h"

static const char ulid_alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

void
ulid_new(char out[ULID_LEN + 1])
{
	guint64 ms = (guint64)(g_get_real_time() / 1000);
	guint8 rnd[10];
	size_t got = 0;

	while (got < sizeof rnd) {
		ssize_t n = getrandom(rnd + got, sizeof rnd - got, 0);
		if (n > 0)
			got += n;
	}
	/* 128 bits, most significant first: 10 characters of time, 16 of randomness. */
	for (int i = 9; i >= 0; i--) {
		out[i] = ulid_alphabet[ms & 31];
		ms >>= 5;
	}
	/* 80 random bits = 16 characters of 5 bits, read from the byte string. */
	for (int i = 0; i < 16; i++) {
		int bit = i * 5, byte = bit / 8, shift = bit % 8;
		unsigned v = rnd[byte] << 8 | (byte + 1 < 10 ? rnd[byte + 1] : 0);
		out[10 + i] = ulid_alphabet[(v >> (11 - shift)) & 31];
	}
	out[ULID_LEN] = '\0';
}

gboolean
ulid_valid(const char *s)
{
	if (s == NULL || strlen(s) != ULID_LEN || s[0] > '7')
		return FALSE;
	for (int i = 0; i < ULID_LEN; i++) {
		if (s[i] == '\0' || strchr(ulid_alphabet, s[i]) == NULL)
			return FALSE;
	}
	return TRUE;
}
