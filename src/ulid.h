/* ULIDs: 26 Crockford base32 characters, 48-bit millisecond time then 80
 * random bits, the ids the Python service stores (python-ulid's str(ULID())). */
#ifndef PP_ULID_H
#define PP_ULID_H

#include <glib.h>

#define ULID_LEN 26

/* Writes a new ULID and a NUL into out[ULID_LEN + 1]. Thread-safe. */
void ulid_new(char out[ULID_LEN + 1]);
/* TRUE when S is exactly 26 valid Crockford characters (upper case). */
gboolean ulid_valid(const char *s);

#endif
