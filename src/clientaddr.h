/* The client's address, as far as it can be believed.
 *
 * REMOTE_ADDR is the peer the web server saw. Behind load balancers listed
 * in TRUSTED_PROXIES (comma-separated CIDRs, IPv4 and IPv6), X-Forwarded-For
 * is read from the right: each trusted hop's claim about the one before it
 * is believed, and the first address that is not a trusted proxy is the
 * client. Entries to its left were written by the client itself and are
 * never looked at, so a forged left-most value changes nothing.
 *
 * Ownership: clientaddr_trust_new() returns a list freed with
 * clientaddr_trust_free() (NULL is harmless); it is read-only once built and
 * safe to share between threads. Strings returned are the caller's to
 * g_free(). */
#ifndef PP_CLIENTADDR_H
#define PP_CLIENTADDR_H

#include <glib.h>

struct clientaddr_trust;

/* Parses "10.0.0.0/8, 2001:db8::/32, 127.0.0.1" (a bare address is a /32 or
 * /128; "" is an empty list). NULL and *cause on a malformed entry. */
struct clientaddr_trust *clientaddr_trust_new(const char *cidrs, char **cause);
void clientaddr_trust_free(struct clientaddr_trust *trust);
/* The config table's check for TRUSTED_PROXIES: 0, or -1 and *cause. */
int clientaddr_check_cidrs(const char *cidrs, char **cause);

/* Whether ADDR (text, IPv4, IPv6 or IPv4-mapped IPv6) is in the list. */
gboolean clientaddr_trusted(const struct clientaddr_trust *trust, const char *addr);

/* The client for a request from REMOTE_ADDR carrying X-Forwarded-For XFF
 * (NULL: none), in canonical text (inet_ntop's form, IPv4-mapped IPv6 as
 * IPv4). A REMOTE_ADDR that is not an address (a unix socket peer) comes
 * back as it is; NULL REMOTE_ADDR gives "unknown". */
char *clientaddr_resolve(const struct clientaddr_trust *trust, const char *remote_addr,
    const char *xff);

/* The rate-limit bucket for an address from clientaddr_resolve(): the
 * address itself for IPv4, its /64 for IPv6 (one subscriber is usually
 * handed a whole /64, so counting single addresses would let one client
 * use 2^64 buckets). */
char *clientaddr_bucket(const char *addr);

#endif
