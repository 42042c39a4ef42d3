#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "clientaddr.h"

/* An address in network byte order; IPv4-mapped IPv6 is kept as IPv4 so
 * that "::ffff:10.1.2.3" and "10.1.2.3" are one client and one proxy. */
struct clientaddr_ip {
	int family;          /* AF_INET or AF_INET6 */
	guint8 bytes[16];    /* 4 used for AF_INET */
};

struct clientaddr_cidr {
	struct clientaddr_ip net;
	int prefix;
};

struct clientaddr_trust {
	GArray *cidrs;       /* struct clientaddr_cidr */
};

static const guint8 clientaddr_v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* Parses one bare address (no port, no brackets): 0, or -1. */
static int
clientaddr_parse_ip(const char *text, struct clientaddr_ip *out)
{
	memset(out, 0, sizeof *out);
	if (inet_pton(AF_INET, text, out->bytes) == 1) {
		out->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text, out->bytes) != 1)
		return -1;
	out->family = AF_INET6;
	if (memcmp(out->bytes, clientaddr_v4mapped, sizeof clientaddr_v4mapped) == 0) {
		memmove(out->bytes, out->bytes + 12, 4);
		memset(out->bytes + 4, 0, 12);
		out->family = AF_INET;
	}
	return 0;
}

/* Parses one X-Forwarded-For entry, which proxies may write with a port:
 * "1.2.3.4", "1.2.3.4:5678", "2001:db8::1", "[2001:db8::1]:443". */
static int
clientaddr_parse_hop(const char *entry, struct clientaddr_ip *out)
{
	char *text = g_strstrip(g_strdup(entry)), *colon, *close;
	int rc = -1;

	if (text[0] == '[') {
		close = strchr(text, ']');
		if (close == NULL || (close[1] != '\0' && close[1] != ':'))
			goto out;
		*close = '\0';
		rc = clientaddr_parse_ip(text + 1, out);
		goto out;
	}
	colon = strchr(text, ':');
	if (colon != NULL && strchr(colon + 1, ':') == NULL)
		*colon = '\0';   /* one colon: IPv4 with a port */
	rc = clientaddr_parse_ip(text, out);
out:
	g_free(text);
	return rc;
}

static char *
clientaddr_format(const struct clientaddr_ip *ip)
{
	char buf[INET6_ADDRSTRLEN];

	if (inet_ntop(ip->family, ip->bytes, buf, sizeof buf) == NULL)
		return g_strdup("unknown");
	return g_strdup(buf);
}

static gboolean
clientaddr_cidr_matches(const struct clientaddr_cidr *c, const struct clientaddr_ip *ip)
{
	int whole = c->prefix / 8, rest = c->prefix % 8;
	guint8 mask;

	if (c->net.family != ip->family)
		return FALSE;
	if (memcmp(c->net.bytes, ip->bytes, whole) != 0)
		return FALSE;
	if (rest == 0)
		return TRUE;
	mask = (guint8)(0xff << (8 - rest));
	return (c->net.bytes[whole] & mask) == (ip->bytes[whole] & mask);
}

static int
clientaddr_parse_cidr(const char *entry, struct clientaddr_cidr *out, char **cause)
{
	char *text = g_strdup(entry), *slash = strchr(text, '/'), *end;
	gboolean mapped;
	int max, rc = -1;
	long prefix = -1;

	if (slash != NULL) {
		*slash = '\0';
		errno = 0;
		prefix = strtol(slash + 1, &end, 10);
		if (errno != 0 || end == slash + 1 || *end != '\0' || prefix < 0) {
			*cause = g_strdup_printf("\"%s\": bad prefix length", entry);
			goto out;
		}
	}
	if (clientaddr_parse_ip(text, &out->net) != 0) {
		*cause = g_strdup_printf("\"%s\": not an IPv4 or IPv6 address", entry);
		goto out;
	}
	/* An IPv4-mapped IPv6 network was turned into IPv4: its prefix counts
	 * the 96 mapping bits too. */
	mapped = out->net.family == AF_INET && strchr(text, ':') != NULL;
	max = out->net.family == AF_INET ? 32 : 128;
	if (prefix < 0)
		prefix = max;
	else if (mapped) {
		if (prefix < 96) {
			*cause = g_strdup_printf("\"%s\": an IPv4-mapped network needs a prefix of 96 or more", entry);
			goto out;
		}
		prefix -= 96;
	}
	if (prefix > max) {
		*cause = g_strdup_printf("\"%s\": prefix longer than %d bits", entry, max);
		goto out;
	}
	out->prefix = (int)prefix;
	rc = 0;
out:
	g_free(text);
	return rc;
}

struct clientaddr_trust *
clientaddr_trust_new(const char *cidrs, char **cause)
{
	struct clientaddr_trust *trust = g_new0(struct clientaddr_trust, 1);
	char **parts = g_strsplit(cidrs != NULL ? cidrs : "", ",", -1);

	trust->cidrs = g_array_new(FALSE, TRUE, sizeof(struct clientaddr_cidr));
	for (int i = 0; parts[i] != NULL; i++) {
		const char *entry = g_strstrip(parts[i]);
		struct clientaddr_cidr c;

		if (*entry == '\0')
			continue;
		if (clientaddr_parse_cidr(entry, &c, cause) != 0) {
			clientaddr_trust_free(trust);
			trust = NULL;
			goto out;
		}
		g_array_append_val(trust->cidrs, c);
	}
out:
	g_strfreev(parts);
	return trust;
}

void
clientaddr_trust_free(struct clientaddr_trust *trust)
{
	if (trust == NULL)
		return;
	g_array_unref(trust->cidrs);
	g_free(trust);
}

int
clientaddr_check_cidrs(const char *cidrs, char **cause)
{
	struct clientaddr_trust *trust = clientaddr_trust_new(cidrs, cause);

	if (trust == NULL)
		return -1;
	clientaddr_trust_free(trust);
	return 0;
}

static gboolean
clientaddr_ip_trusted(const struct clientaddr_trust *trust, const struct clientaddr_ip *ip)
{
	if (trust == NULL)
		return FALSE;
	for (guint i = 0; i < trust->cidrs->len; i++) {
		if (clientaddr_cidr_matches(&g_array_index(trust->cidrs, struct clientaddr_cidr, i), ip))
			return TRUE;
	}
	return FALSE;
}

gboolean
clientaddr_trusted(const struct clientaddr_trust *trust, const char *addr)
{
	struct clientaddr_ip ip;

	if (addr == NULL || clientaddr_parse_hop(addr, &ip) != 0)
		return FALSE;
	return clientaddr_ip_trusted(trust, &ip);
}

char *
clientaddr_resolve(const struct clientaddr_trust *trust, const char *remote_addr, const char *xff)
{
	struct clientaddr_ip current, hop;
	char **hops = NULL;
	int n;

	if (remote_addr == NULL || *remote_addr == '\0')
		return g_strdup("unknown");
	if (clientaddr_parse_hop(remote_addr, &current) != 0)
		return g_strdup(remote_addr);
	if (xff == NULL || !clientaddr_ip_trusted(trust, &current))
		return clientaddr_format(&current);
	hops = g_strsplit(xff, ",", -1);
	n = (int)g_strv_length(hops);
	/* Walk leftwards while the hop that told us is one we trust. An entry
	 * that is not an address stops the walk at the proxy that passed it:
	 * using the text itself would let a client choose its own bucket. */
	for (int i = n - 1; i >= 0 && clientaddr_ip_trusted(trust, &current); i--) {
		if (*g_strstrip(hops[i]) == '\0')
			continue;
		if (clientaddr_parse_hop(hops[i], &hop) != 0)
			break;
		current = hop;
	}
	g_strfreev(hops);
	return clientaddr_format(&current);
}

char *
clientaddr_bucket(const char *addr)
{
	struct clientaddr_ip ip;
	char *text, *bucket;

	if (addr == NULL || clientaddr_parse_ip(addr, &ip) != 0 || ip.family == AF_INET)
		return g_strdup(addr != NULL ? addr : "unknown");
	memset(ip.bytes + 8, 0, 8);
	text = clientaddr_format(&ip);
	bucket = g_strconcat(text, "/64", NULL);
	g_free(text);
	return bucket;
}
