#include "conf.h"
#include "../wg/blake2s.h"
#include "../../lib/util/text.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void mesh_join_hash(const char *secret, uint8_t out[static 32])
{
	blake2s(out, 32, NULL, 0, (const uint8_t *)secret, strlen(secret));
}

/* "ADDR[:PORT]" (IPv4), "[ADDR6]:PORT", "[ADDR6]" or "ADDR6"; the port
 * defaults to 3478. */
static int parse_endpoint(const char *s, struct wg_endpoint *ep)
{
	char buf[80];
	uint32_t a;
	uint8_t a6[16];
	size_t n = strlen(s);

	if (wg_endpoint_parse(s, ep) == 0)
		return 0;
	if (text_parse_ipv4(s, &a) || (n < 48 && s[0] == '[' && s[n - 1] == ']'))
		snprintf(buf, sizeof(buf), "%s:%d", s, MESH_DEFAULT_PORT);
	else if (n < 48 && inet_pton(AF_INET6, s, a6) == 1)
		snprintf(buf, sizeof(buf), "[%s]:%d", s, MESH_DEFAULT_PORT);
	else
		return -EINVAL;
	return wg_endpoint_parse(buf, ep);
}

/* One IPv6 endpoint ("listen6", "introducer6"). */
static int parse_endpoint6(const char *s, struct wg_endpoint *ep)
{
	if (parse_endpoint(s, ep) || ep->addr.ss_family != AF_INET6) {
		memset(ep, 0, sizeof(*ep));
		return -EINVAL;
	}
	return 0;
}

/* "A B": IPv4 endpoints (IPv6 has keys of its own). */
static int parse_endpoints(char *value, struct wg_endpoint *eps, int max, int *n)
{
	char *w[4];
	int k = text_split(value, w, 4);

	if (k < 1 || k > max)
		return -EINVAL;
	for (int i = 0; i < k; i++)
		if (parse_endpoint(w[i], &eps[i]) || eps[i].addr.ss_family != AF_INET)
			return -EINVAL;
	*n = k;
	return 0;
}

/* A DNS name: labels of letters, digits and '-' (not first or last), at
 * most 63 each, dots between, 127 in all; not all digits and dots (that
 * would be a bad address). */
static bool dns_name(const char *s)
{
	size_t n = strlen(s), label = 0;
	bool letter = false;

	if (n == 0 || n > 127 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (ch == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
		} else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '-' ||
			   (ch >= '0' && ch <= '9')) {
			if ((ch == '-' && label == 0) || ++label > 63)
				return false;
			letter |= !(ch >= '0' && ch <= '9') && ch != '-';
		} else {
			return false;
		}
	}
	return letter && s[n - 1] != '-';
}

/* "A B": each an address or a NAME[:PORT]. */
static int parse_introducer(char *value, struct agent_conf *c)
{
	char *w[4];
	int k = text_split(value, w, 4);

	if (k < 1 || k > 2)
		return -EINVAL;
	for (int i = 0; i < k; i++) {
		char *colon = strrchr(w[i], ':');
		unsigned long port = MESH_DEFAULT_PORT;

		memset(&c->introducer[i], 0, sizeof(c->introducer[i]));
		c->introducer_host[i][0] = '\0';
		if (parse_endpoint(w[i], &c->introducer[i]) == 0) {
			if (c->introducer[i].addr.ss_family != AF_INET)
				return -EINVAL;   /* introducer6 takes the IPv6 one */
			continue;
		}
		memset(&c->introducer[i], 0, sizeof(c->introducer[i]));   /* a name: no address yet */
		if (colon && !text_parse_uint(colon + 1, 1, 65535, &port))
			return -EINVAL;
		if (colon)
			*colon = '\0';
		if (!dns_name(w[i]))
			return -EINVAL;
		snprintf(c->introducer_host[i], sizeof(c->introducer_host[i]), "%s", w[i]);
		c->introducer_port[i] = (uint16_t)port;
	}
	c->n_introducer = c->n_introducer_given = k;
	return 0;
}

int agent_conf_resolve(struct agent_conf *c, char *err, size_t errlen)
{
	for (int i = 0; i < c->n_introducer_given; i++) {
		struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_DGRAM }, *res = NULL, *r;
		int gai, got = 0;

		if (!c->introducer_host[i][0])
			continue;
		if ((gai = getaddrinfo(c->introducer_host[i], NULL, &hints, &res)) || !res) {
			snprintf(err, errlen, "introducer %s: %s", c->introducer_host[i], gai ? gai_strerror(gai) : "no address");
			return -EHOSTUNREACH;
		}
		/* A second address only for a single name, and another one. */
		for (r = res; r && got < (c->n_introducer_given == 1 ? 2 : 1); r = r->ai_next) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&c->introducer[i + got].addr;
			if (got && ((const struct sockaddr_in *)r->ai_addr)->sin_addr.s_addr ==
					   ((const struct sockaddr_in *)&c->introducer[i].addr)->sin_addr.s_addr)
				continue;
			memset(&c->introducer[i + got], 0, sizeof(c->introducer[i + got]));
			*sin = *(const struct sockaddr_in *)r->ai_addr;
			sin->sin_port = htons(c->introducer_port[i]);
			got++;
		}
		if (c->n_introducer_given == 1)
			c->n_introducer = got;
		freeaddrinfo(res);
	}
	/* The first name's IPv6 address, where it has one: registered on too
	 * (agents learn where IPv6 sees them; one that does not listen there
	 * costs a datagram a keepalive). */
	if (!c->introducer6_given && c->n_introducer_given > 0 && c->introducer_host[0][0]) {
		struct addrinfo hints = { .ai_family = AF_INET6, .ai_socktype = SOCK_DGRAM }, *res = NULL;
		memset(&c->introducer6, 0, sizeof(c->introducer6));
		if (!getaddrinfo(c->introducer_host[0], NULL, &hints, &res) && res &&
		    res->ai_addrlen <= sizeof(c->introducer6.addr)) {
			memcpy(&c->introducer6.addr, res->ai_addr, res->ai_addrlen);
			((struct sockaddr_in6 *)&c->introducer6.addr)->sin6_port = htons(c->introducer_port[0]);
		}
		if (res)
			freeaddrinfo(res);
	}
	return 0;
}

static int parse_name(const char *s, char out[static MESH_NAME_LEN + 1])
{
	size_t n = strlen(s);

	if (n == 0 || n > MESH_NAME_LEN)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return -EINVAL;
	memcpy(out, s, n + 1);
	return 0;
}

static int parse_key_value(const char *s, uint8_t key[static WG_KEY_LEN], const char *origin, unsigned line,
			   const char *what, char *err, size_t errlen)
{
	if (key_parse(s, key))
		return text_fail(err, errlen, origin, line, "%s \"%.60s\" is not a WireGuard key (44 characters of base64, "
					    "as `wg genkey` or `wg pubkey` writes)", what, s);
	return 0;
}

static int read_key_file(const char *path, uint8_t key[static WG_KEY_LEN], char warn[static MESH_WARN_LEN],
			 const char *origin, unsigned line, char *err, size_t errlen)
{
	char kerr[300];
	struct stat st;

	if (key_read(path, key, kerr, sizeof(kerr)))
		return text_fail(err, errlen, origin, line, "%s", kerr);
	/* As wg does: a private key others can read is no longer private. */
	if (stat(path, &st) == 0 && (st.st_mode & 077))
		snprintf(warn, MESH_WARN_LEN, "warning: private key file %.120s can be read by others (mode %04o): chmod 600 it",
			 path, (unsigned)(st.st_mode & 07777));
	return 0;
}

/* private-key (base64) or private-key-file (a file holding it). */
static int set_private_key(const char *key, const char *value, uint8_t out[static WG_KEY_LEN], bool *has,
			   char warn[static MESH_WARN_LEN], const char *origin, unsigned line, char *err, size_t errlen)
{
	*has = true;
	if (!strcmp(key, "private-key"))
		return parse_key_value(value, out, origin, line, "private-key", err, errlen);
	return read_key_file(value, out, warn, origin, line, err, errlen);
}

void introducer_conf_defaults(struct introducer_conf *c)
{
	memset(c, 0, sizeof(*c));
	text_parse_prefix(MESH_DEFAULT_POOL4, &c->pool4, &c->plen4);
	inet_pton(AF_INET6, "fd70:6c6d:6573::", c->pool6);
	c->plen6 = 48;
	snprintf(c->user, sizeof(c->user), "nobody");
	c->relay_rate = 50u << 20;
	c->tcp = true;
}

void agent_conf_defaults(struct agent_conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->interface, sizeof(c->interface), "plmesh0");
	c->mtu = 1280;
	c->keepalive_s = 10;
	c->ping_ms = 1000;
	c->port_mapping = true;
}

static int add_member(struct introducer_conf *c, const char *key, const char *name, const char *origin, unsigned line,
		      char *err, size_t errlen)
{
	struct mesh_member_conf *m;

	if (c->n_allow >= MESH_MAX_ALLOW)
		return text_fail(err, errlen, origin, line, "more than %d members in the allowlist", MESH_MAX_ALLOW);
	m = &c->allow[c->n_allow];
	if (parse_key_value(key, m->key, origin, line, "member key", err, errlen))
		return -EINVAL;
	if (parse_name(name, m->name))
		return text_fail(err, errlen, origin, line, "member name \"%.40s\": 1 to %d printable characters, no blanks",
				 name, MESH_NAME_LEN);
	for (int i = 0; i < c->n_allow; i++)
		if (!memcmp(c->allow[i].key, m->key, WG_KEY_LEN))
			return text_fail(err, errlen, origin, line, "key %s is listed twice", key);
	c->n_allow++;
	return 0;
}

int introducer_conf_set(struct introducer_conf *c, const char *key, const char *value, const char *origin,
			unsigned line, char *err, size_t errlen)
{
	char v[512], *w[3];
	unsigned long u;

	snprintf(v, sizeof(v), "%s", value);
	if (!strcmp(key, "private-key") || !strcmp(key, "private-key-file"))
		return set_private_key(key, value, c->private_key, &c->has_key, c->warning, origin, line, err, errlen);
	if (!strcmp(key, "listen")) {
		if (parse_endpoints(v, c->listen, 2, &c->n_listen))
			return text_fail(err, errlen, origin, line, "listen \"%s\": expected one or two IPv4 ADDR[:PORT] (two "
					 "addresses let agents tell mappings that depend on the destination; listen6 takes an "
					 "IPv6 one)", value);
		return 0;
	}
	if (!strcmp(key, "listen6")) {
		if (parse_endpoint6(value, &c->listen6))
			return text_fail(err, errlen, origin, line, "listen6 \"%.60s\": expected one IPv6 address, ADDR6 or "
					 "[ADDR6]:PORT (agents register there too, to learn their IPv6 endpoint)", value);
		return 0;
	}
	if (!strcmp(key, "allow")) {
		if (text_split(v, w, 3) != 2)
			return text_fail(err, errlen, origin, line, "allow \"%s\": expected PUBLIC-KEY NAME", value);
		return add_member(c, w[0], w[1], origin, line, err, errlen);
	}
	if (!strcmp(key, "allowlist-file")) {
		char *text = NULL;
		size_t len;
		int ret;
		if (text_read_file(value, 1 << 20, &text, &len))
			return text_fail(err, errlen, origin, line, "allowlist-file %s: %s", value, strerror(errno));
		ret = introducer_allowlist_parse(c, text, len, value, err, errlen);
		free(text);
		return ret;
	}
	if (!strcmp(key, "join-secret")) {
		if (strlen(value) < 16)
			return text_fail(err, errlen, origin, line, "join-secret is shorter than 16 characters: too easy to guess");
		mesh_join_hash(value, c->join);
		c->has_join = true;
		return 0;
	}
	if (!strcmp(key, "pool4")) {
		if (!text_parse_prefix(value, &c->pool4, &c->plen4) || c->plen4 < 8 || c->plen4 > 28)
			return text_fail(err, errlen, origin, line, "pool4 \"%s\": expected A.B.C.D/N with N from 8 to 28", value);
		return 0;
	}
	if (!strcmp(key, "pool6")) {
		char *slash = strchr(v, '/');
		if (!slash || !text_parse_uint(slash + 1, 16, 64, &u) || (*slash = '\0', inet_pton(AF_INET6, v, c->pool6) != 1))
			return text_fail(err, errlen, origin, line, "pool6 \"%s\": expected an IPv6 prefix with length 16 to 64",
					 value);
		c->plen6 = (uint8_t)u;
		return 0;
	}
	if (!strcmp(key, "user")) {
		if (strlen(value) >= sizeof(c->user))
			return text_fail(err, errlen, origin, line, "user name too long");
		snprintf(c->user, sizeof(c->user), "%s", strcmp(value, "root") ? value : "");
		return 0;
	}
	if (!strcmp(key, "relay-rate")) {
		if (!text_parse_uint(value, 1000, 1ul << 31, &u))
			return text_fail(err, errlen, origin, line, "relay-rate \"%s\": bytes per second, 1000 or more", value);
		c->relay_rate = (uint32_t)u;
		return 0;
	}
	if (!strcmp(key, "tcp")) {
		if (strcmp(value, "yes") && strcmp(value, "no"))
			return text_fail(err, errlen, origin, line, "tcp \"%s\": expected yes or no", value);
		c->tcp = !strcmp(value, "yes");
		return 0;
	}
	return text_fail(err, errlen, origin, line,
			 "unknown key \"%s\"; expected private-key, private-key-file, listen, listen6, allow, allowlist-file, "
			 "join-secret, pool4, pool6, user, relay-rate or tcp", key);
}

int agent_conf_set(struct agent_conf *c, const char *key, const char *value, const char *origin, unsigned line,
		   char *err, size_t errlen)
{
	char v[512];
	unsigned long u;

	snprintf(v, sizeof(v), "%s", value);
	if (!strcmp(key, "private-key") || !strcmp(key, "private-key-file"))
		return set_private_key(key, value, c->private_key, &c->has_key, c->warning, origin, line, err, errlen);
	if (!strcmp(key, "introducer-key")) {
		c->has_introducer_key = true;
		return parse_key_value(value, c->introducer_key, origin, line, "introducer-key", err, errlen);
	}
	if (!strcmp(key, "introducer")) {
		if (parse_introducer(v, c))
			return text_fail(err, errlen, origin, line,
					 "introducer \"%.80s\": expected one or two IPv4 ADDR[:PORT] or NAME[:PORT] (a DNS name; "
					 "introducer6 takes an IPv6 address)", value);
		return 0;
	}
	if (!strcmp(key, "introducer6")) {
		if (parse_endpoint6(value, &c->introducer6))
			return text_fail(err, errlen, origin, line, "introducer6 \"%.60s\": expected the introducer's IPv6 "
					 "address, ADDR6 or [ADDR6]:PORT", value);
		c->introducer6_given = true;
		return 0;
	}
	if (!strcmp(key, "interface")) {
		if (!*value || strlen(value) >= sizeof(c->interface) || strchr(value, '/') || strchr(value, ' '))
			return text_fail(err, errlen, origin, line, "interface \"%s\": a Linux interface name, at most 15 characters",
					 value);
		snprintf(c->interface, sizeof(c->interface), "%s", value);
		return 0;
	}
	if (!strcmp(key, "name")) {
		if (parse_name(value, c->name))
			return text_fail(err, errlen, origin, line, "name \"%.40s\": 1 to %d printable characters, no blanks", value,
					 MESH_NAME_LEN);
		return 0;
	}
	if (!strcmp(key, "listen-port")) {
		if (!text_parse_uint(value, 0, 65535, &u))
			return text_fail(err, errlen, origin, line, "listen-port \"%s\": 0 (any) to 65535", value);
		c->listen_port = (uint16_t)u;
		return 0;
	}
	if (!strcmp(key, "join-secret")) {
		mesh_join_hash(value, c->join);
		c->has_join = true;
		return 0;
	}
	if (!strcmp(key, "mtu")) {
		if (!text_parse_uint(value, 576, 9000, &u))
			return text_fail(err, errlen, origin, line, "mtu \"%s\": 576 to 9000", value);
		c->mtu = (int)u;
		return 0;
	}
	if (!strcmp(key, "keepalive")) {
		if (!text_parse_uint(value, 1, 3600, &u))
			return text_fail(err, errlen, origin, line, "keepalive \"%s\": seconds, 1 to 3600", value);
		c->keepalive_s = (unsigned)u;
		return 0;
	}
	if (!strcmp(key, "probe-impossible") || !strcmp(key, "port-mapping")) {
		bool *b = key[1] == 'r' ? &c->probe_impossible : &c->port_mapping;
		if (!strcmp(value, "yes") || !strcmp(value, "true"))
			*b = true;
		else if (!strcmp(value, "no") || !strcmp(value, "false"))
			*b = false;
		else
			return text_fail(err, errlen, origin, line, "%s \"%s\": yes or no", key, value);
		return 0;
	}
	if (!strcmp(key, "peers")) {
		if (strcmp(value, "all") && strcmp(value, "on-demand"))
			return text_fail(err, errlen, origin, line, "peers \"%s\": all or on-demand", value);
		c->peers_on_demand = !strcmp(value, "on-demand");
		return 0;
	}
	if (!strcmp(key, "ping-interval-ms")) {
		if (!text_parse_uint(value, 100, 60000, &u))
			return text_fail(err, errlen, origin, line, "ping-interval-ms \"%s\": 100 to 60000", value);
		c->ping_ms = (unsigned)u;
		return 0;
	}
	return text_fail(err, errlen, origin, line,
			 "unknown key \"%s\"; expected private-key, private-key-file, introducer, introducer6, introducer-key, interface, "
			 "name, listen-port, join-secret, mtu, keepalive, ping-interval-ms, probe-impossible, port-mapping or peers",
			 key);
}

/* The shared line loop: "key = value", '#' comments, blank lines. */
static int parse_lines(const char *buf, size_t len, const char *origin, char *err, size_t errlen,
		       int (*set)(void *c, const char *key, const char *value, const char *origin, unsigned line, char *err,
				  size_t errlen),
		       void *c)
{
	char line[600];
	unsigned lineno = 0;
	size_t off = 0;
	long used;

	while ((used = text_next_line(buf + off, len - off, line, sizeof(line))) != 0) {
		char *eq, *k, *v, *e;
		lineno++;
		if (used < 0)
			return text_fail(err, errlen, origin, lineno, "line too long or holds a NUL byte");
		off += (size_t)used;
		if (!line[0])
			continue;
		if (!(eq = strchr(line, '=')))
			return text_fail(err, errlen, origin, lineno, "expected KEY = VALUE");
		*eq = '\0';
		for (k = line, e = eq; e > k && (e[-1] == ' ' || e[-1] == '\t'); e--)
			;
		*e = '\0';
		for (v = eq + 1; *v == ' ' || *v == '\t'; v++)
			;
		if (!*k || !*v)
			return text_fail(err, errlen, origin, lineno, "expected KEY = VALUE");
		if (set(c, k, v, origin, lineno, err, errlen))
			return -EINVAL;
	}
	return 0;
}

static int set_introducer(void *c, const char *k, const char *v, const char *o, unsigned l, char *e, size_t el)
{
	return introducer_conf_set(c, k, v, o, l, e, el);
}

static int set_agent(void *c, const char *k, const char *v, const char *o, unsigned l, char *e, size_t el)
{
	return agent_conf_set(c, k, v, o, l, e, el);
}

int introducer_conf_parse(struct introducer_conf *c, const char *buf, size_t len, const char *origin, char *err,
			  size_t errlen)
{
	return parse_lines(buf, len, origin, err, errlen, set_introducer, c);
}

int agent_conf_parse(struct agent_conf *c, const char *buf, size_t len, const char *origin, char *err, size_t errlen)
{
	return parse_lines(buf, len, origin, err, errlen, set_agent, c);
}

int introducer_allowlist_parse(struct introducer_conf *c, const char *buf, size_t len, const char *origin, char *err,
			       size_t errlen)
{
	char line[300], *w[3];
	unsigned lineno = 0;
	size_t off = 0;
	long used;

	while ((used = text_next_line(buf + off, len - off, line, sizeof(line))) != 0) {
		lineno++;
		if (used < 0)
			return text_fail(err, errlen, origin, lineno, "line too long or holds a NUL byte");
		off += (size_t)used;
		if (!line[0])
			continue;
		if (text_split(line, w, 3) != 2)
			return text_fail(err, errlen, origin, lineno, "expected PUBLIC-KEY NAME");
		if (add_member(c, w[0], w[1], origin, lineno, err, errlen))
			return -EINVAL;
	}
	return 0;
}

int introducer_conf_check(const struct introducer_conf *c, char *err, size_t errlen)
{
	if (!c->has_key)
		return text_fail(err, errlen, "introducer", 0,
				 "no private key: set private-key-file = FILE (make one with `wg genkey > FILE`)");
	if (c->n_listen == 0)
		return text_fail(err, errlen, "introducer", 0, "no address to listen on: set listen = ADDR1 ADDR2");
	if (c->n_allow == 0 && !c->has_join)
		return text_fail(err, errlen, "introducer", 0,
				 "nobody may join: give an allowlist (allow = KEY NAME, allowlist-file = FILE) or a join-secret");
	return 0;
}

int agent_conf_check(const struct agent_conf *c, char *err, size_t errlen)
{
	if (!c->has_key)
		return text_fail(err, errlen, "agent", 0,
				 "no private key: set private-key-file = FILE (make one with `wg genkey > FILE`)");
	if (!c->has_introducer_key)
		return text_fail(err, errlen, "agent", 0, "no introducer-key: the introducer's public key, to pin it");
	if (c->n_introducer == 0)
		return text_fail(err, errlen, "agent", 0, "no introducer: set introducer = ADDR1[:PORT] ADDR2[:PORT]");
	return 0;
}

typedef int (*conf_parse_fn)(void *c, const char *buf, size_t len, const char *origin, char *err, size_t errlen);
typedef int (*conf_set_fn)(void *c, const char *key, const char *value, const char *origin, unsigned line, char *err,
			   size_t errlen);

static int conf_arg(void *c, conf_parse_fn parse, conf_set_fn set, int argc, char **argv, int *i, char *err,
		    size_t errlen)
{
	const char *arg = argv[*i];
	char *text;
	size_t len;
	int ret;

	if (strncmp(arg, "--", 2) || !arg[2] || *i + 1 >= argc)
		return 0;
	if (!strcmp(arg, "--config")) {
		const char *path = argv[++*i];
		if (text_read_file(path, 1 << 20, &text, &len)) {
			snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
			return -EINVAL;
		}
		ret = parse(c, text, len, path, err, errlen);
		free(text);
		return ret ? -EINVAL : 1;
	}
	ret = set(c, arg + 2, argv[*i + 1], "command line", 0, err, errlen);
	++*i;
	return ret ? -EINVAL : 1;
}

static int introducer_parse_any(void *c, const char *buf, size_t len, const char *origin, char *err, size_t errlen)
{
	return introducer_conf_parse(c, buf, len, origin, err, errlen);
}

static int introducer_set_any(void *c, const char *key, const char *value, const char *origin, unsigned line,
			      char *err, size_t errlen)
{
	return introducer_conf_set(c, key, value, origin, line, err, errlen);
}

static int agent_parse_any(void *c, const char *buf, size_t len, const char *origin, char *err, size_t errlen)
{
	return agent_conf_parse(c, buf, len, origin, err, errlen);
}

static int agent_set_any(void *c, const char *key, const char *value, const char *origin, unsigned line, char *err,
			 size_t errlen)
{
	return agent_conf_set(c, key, value, origin, line, err, errlen);
}

int introducer_conf_arg(struct introducer_conf *c, int argc, char **argv, int *i, char *err, size_t errlen)
{
	return conf_arg(c, introducer_parse_any, introducer_set_any, argc, argv, i, err, errlen);
}

int agent_conf_arg(struct agent_conf *c, int argc, char **argv, int *i, char *err, size_t errlen)
{
	return conf_arg(c, agent_parse_any, agent_set_any, argc, argv, i, err, errlen);
}
