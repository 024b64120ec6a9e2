#include "topo.h"
#include "../../lib/util/paths.h"
#include "../../lib/util/text.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>


/* A shipped topology's name (its file's, less .topo): 1-31 characters of
 * a-z, 0-9 and '-', not starting with '-'. (Node names are shorter:
 * valid_name, below: they become interface and namespace names.) */
static bool valid_topology_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= 32 || s[0] == '-')
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= TOPO_NAME_MAX || s[0] == '-')
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return false;
	return true;
}

int topo_find_node(const struct topo *t, const char *name)
{
	for (int i = 0; i < t->n_nodes; i++)
		if (strcmp(t->nodes[i].name, name) == 0)
			return i;
	return -1;
}

int topo_find_segment(const struct topo *t, const char *name)
{
	for (int i = 0; i < t->n_segments; i++)
		if (strcmp(t->segments[i].name, name) == 0)
			return i;
	return -1;
}

static int find_param(const struct topo *t, const char *name)
{
	for (int i = 0; i < t->n_params; i++)
		if (strcmp(t->params[i], name) == 0)
			return i;
	return -1;
}

static bool name_taken(const struct topo *t, const char *name)
{
	return topo_find_node(t, name) >= 0 || topo_find_segment(t, name) >= 0;
}

/* Segment names are resolved after every line is read; until then the
 * name is parked in the node's nat field's tail. */
struct pending {
	char uplink[TOPO_MAX_NODES][TOPO_NAME_MAX];
	char gateway[TOPO_MAX_SEGMENTS][TOPO_NAME_MAX];
};

static int parse_node(struct topo *t, struct pending *pend, char **w, int n, bool router,
		      const char *origin, unsigned line, char *err, size_t errlen)
{
	struct topo_node *node;
	int i;

	if (n < 2)
		return text_fail(err, errlen, origin, line, router ? "expected \"router NAME [nat MODEL|$PARAM] [uplink SEGMENT [address ADDR]]\""
							     : "expected \"host NAME SEGMENT [address ADDR...]\"");
	if (!valid_name(w[1]))
		return text_fail(err, errlen, origin, line,
			    "bad name \"%s\": 1-%d characters of a-z, 0-9 and '-'", w[1], TOPO_NAME_MAX - 1);
	if (name_taken(t, w[1]))
		return text_fail(err, errlen, origin, line, "name \"%s\" is used twice", w[1]);
	if (t->n_nodes == TOPO_MAX_NODES)
		return text_fail(err, errlen, origin, line, "more than %d hosts and routers", TOPO_MAX_NODES);
	node = &t->nodes[t->n_nodes];
	memset(node, 0, sizeof(*node));
	snprintf(node->name, sizeof(node->name), "%s", w[1]);
	node->router = router;
	node->segment = -1;
	node->line = line;
	pend->uplink[t->n_nodes][0] = '\0';
	i = 2;
	if (!router) {
		if (n < 3)
			return text_fail(err, errlen, origin, line, "host %s needs its segment: \"host NAME SEGMENT\"", w[1]);
		snprintf(pend->uplink[t->n_nodes], TOPO_NAME_MAX, "%.12s", w[2]);
		if (strlen(w[2]) >= TOPO_NAME_MAX)
			return text_fail(err, errlen, origin, line, "no segment \"%s\"", w[2]);
		i = 3;
	}
	while (i < n) {
		if (router && strcmp(w[i], "nat") == 0 && i + 1 < n) {
			const char *m = w[i + 1];
			if (m[0] == '$') {
				if (find_param(t, m + 1) < 0)
					return text_fail(err, errlen, origin, line,
						    "parameter %s is not declared; add \"param %s\" first", m, m + 1);
			} else if (strlen(m) >= NAT_MODEL_NAME_MAX) {
				return text_fail(err, errlen, origin, line, "model name \"%s\" too long", m);
			}
			snprintf(node->nat, sizeof(node->nat), "%s", m);
			i += 2;
		} else if (router && strcmp(w[i], "uplink") == 0 && i + 1 < n) {
			if (strlen(w[i + 1]) >= TOPO_NAME_MAX)
				return text_fail(err, errlen, origin, line, "no segment \"%s\"", w[i + 1]);
			snprintf(pend->uplink[t->n_nodes], TOPO_NAME_MAX, "%s", w[i + 1]);
			i += 2;
		} else if (strcmp(w[i], "address") == 0 && i + 1 < n) {
			for (i++; i < n; i++) {
				if (node->n_addrs == TOPO_MAX_ADDRS || (router && node->n_addrs == 1))
					return text_fail(err, errlen, origin, line, "too many addresses for %s (at most %d)",
						    node->name, router ? 1 : TOPO_MAX_ADDRS);
				if (!text_parse_ipv4(w[i], &node->addrs[node->n_addrs]))
					return text_fail(err, errlen, origin, line, "\"%s\" is not an IPv4 address", w[i]);
				node->n_addrs++;
			}
		} else {
			return text_fail(err, errlen, origin, line, "unexpected \"%s\"; expected %s", w[i],
				    router ? "nat MODEL, uplink SEGMENT or address ADDR" : "address ADDR...");
		}
	}
	t->n_nodes++;
	return 0;
}

/* A segment's prefix: A.B.C.D/LEN, /8 to /30, no host bits. 0, or -EINVAL
 * with what is wrong in why. */
static int prefix_problem(const char *text, uint32_t *prefix, uint8_t *plen, char *why, size_t len)
{
	char addr[32], net[16];
	const char *slash = strchr(text, '/');
	unsigned long l;
	uint32_t a;

	if (!slash || (size_t)(slash - text) >= sizeof(addr)) {
		snprintf(why, len, "\"%.40s\" is not a network prefix such as 10.0.1.0/24", text);
		return -EINVAL;
	}
	snprintf(addr, sizeof(addr), "%.*s", (int)(slash - text), text);
	if (!text_parse_ipv4(addr, &a) || !text_parse_uint(slash + 1, 0, 32, &l)) {
		snprintf(why, len, "\"%.40s\" is not a network prefix such as 10.0.1.0/24", text);
		return -EINVAL;
	}
	if (l < 8 || l > 30) {
		snprintf(why, len, "\"%.40s\": a segment's prefix is /8 to /30", text);
		return -EINVAL;
	}
	if (a & ~text_mask((uint8_t)l)) {
		snprintf(why, len, "\"%.40s\" has host bits set: the network is %s/%lu", text, text_ipv4(a & text_mask((uint8_t)l), net),
			 l);
		return -EINVAL;
	}
	*prefix = a;
	*plen = (uint8_t)l;
	return 0;
}

static int parse_segment(struct topo *t, struct pending *pend, char **w, int n, const char *origin,
			 unsigned line, char *err, size_t errlen)
{
	char why[160];
	int ret;
	struct topo_segment *s;
	int i;

	if (n < 5 || strcmp(w[3], "gateway") != 0)
		return text_fail(err, errlen, origin, line, "expected \"segment NAME PREFIX gateway ROUTER [public PREFIX]\"");
	if (!valid_name(w[1]))
		return text_fail(err, errlen, origin, line,
			    "bad name \"%s\": 1-%d characters of a-z, 0-9 and '-'", w[1], TOPO_NAME_MAX - 1);
	if (name_taken(t, w[1]))
		return text_fail(err, errlen, origin, line, "name \"%s\" is used twice", w[1]);
	if (t->n_segments == TOPO_MAX_SEGMENTS)
		return text_fail(err, errlen, origin, line, "more than %d segments", TOPO_MAX_SEGMENTS);
	s = &t->segments[t->n_segments];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", w[1]);
	s->line = line;
	if ((ret = prefix_problem(w[2], &s->prefix, &s->plen, why, sizeof(why))))
		return text_fail(err, errlen, origin, line, "segment %s: %s", w[1], why);
	if (strlen(w[4]) >= TOPO_NAME_MAX)
		return text_fail(err, errlen, origin, line, "no router \"%s\"", w[4]);
	snprintf(pend->gateway[t->n_segments], TOPO_NAME_MAX, "%s", w[4]);
	for (i = 5; i < n; i += 2) {
		if (strcmp(w[i], "public") == 0 && i + 1 < n) {
			if ((ret = prefix_problem(w[i + 1], &s->public_prefix, &s->public_plen, why, sizeof(why))))
				return text_fail(err, errlen, origin, line, "segment %s's public prefix: %s", w[1], why);
			s->has_public = true;
		} else {
			return text_fail(err, errlen, origin, line, "unexpected \"%s\"; expected public PREFIX", w[i]);
		}
	}
	t->n_segments++;
	return 0;
}

static bool in_prefix(uint32_t a, uint32_t prefix, uint8_t plen)
{
	return (a & text_mask(plen)) == prefix;
}

/* What is wrong with a host's address A in segment PREFIX/PLEN (NULL:
 * nothing) in a segment of that length: the first address is the
 * gateway's, the first and last are
 * the network's and its broadcast. */
static const char *address_problem(uint32_t a, uint8_t plen)
{
	uint32_t h = ntohl(a) & ~ntohl(text_mask(plen));

	if (h == 0)
		return "the segment's network address";
	if (h == ~ntohl(text_mask(plen)))
		return "the segment's broadcast address";
	if (h == 1)
		return "its gateway's address (a segment's first address is its router's)";
	return NULL;
}

/* The address realm of segment s: the nearest router at or above its
 * gateway that translates (-1: the internet). Within a realm prefixes
 * must not overlap; behind different NATs they may (two homes on
 * 192.168.1.0/24 is common). */
static int realm_of(const struct topo *t, int s)
{
	int r = t->segments[s].gateway;

	for (int steps = 0; !t->nodes[r].nat[0] && t->nodes[r].segment >= 0 && steps < TOPO_MAX_NODES; steps++)
		r = t->segments[t->nodes[r].segment].gateway;
	return t->nodes[r].nat[0] ? r : -1;
}

static bool overlap(uint32_t a, uint8_t al, uint32_t b, uint8_t bl)
{
	return ((a ^ b) & text_mask(al < bl ? al : bl)) == 0;
}

static int check_overlaps(const struct topo *t, const char *origin, char *err, size_t errlen)
{
	for (int i = 0; i < t->n_segments; i++)
		for (int j = i + 1; j < t->n_segments; j++) {
			const struct topo_segment *x = &t->segments[i], *y = &t->segments[j];
			char xa[16], ya[16];
			int realm = realm_of(t, i);
			if (realm == realm_of(t, j) && overlap(x->prefix, x->plen, y->prefix, y->plen))
				return text_fail(err, errlen, origin, y->line,
						 "segments %s (%s/%u) and %s (%s/%u) overlap in one address realm (%s%s)", x->name,
						 text_ipv4(x->prefix, xa), x->plen, y->name, text_ipv4(y->prefix, ya), y->plen,
						 realm < 0 ? "the internet" : "behind ", realm < 0 ? "" : t->nodes[realm].name);
			if (x->has_public && y->has_public &&
			    overlap(x->public_prefix, x->public_plen, y->public_prefix, y->public_plen))
				return text_fail(err, errlen, origin, y->line, "the public prefixes of segments %s and %s overlap",
						 x->name, y->name);
		}
	return 0;
}

static int check_topo(struct topo *t, struct pending *pend, const char *origin, char *err, size_t errlen)
{
	int roots = 0;

	for (int i = 0; i < t->n_segments; i++) {
		struct topo_segment *s = &t->segments[i];
		s->gateway = topo_find_node(t, pend->gateway[i]);
		if (s->gateway < 0 || !t->nodes[s->gateway].router)
			return text_fail(err, errlen, origin, s->line, "gateway \"%s\" of segment %s is not a router",
				    pend->gateway[i], s->name);
	}
	for (int i = 0; i < t->n_nodes; i++) {
		struct topo_node *n = &t->nodes[i];
		bool owns = false;

		if (pend->uplink[i][0]) {
			n->segment = topo_find_segment(t, pend->uplink[i]);
			if (n->segment < 0)
				return text_fail(err, errlen, origin, n->line, "no segment \"%s\"", pend->uplink[i]);
			if (t->segments[n->segment].gateway == i)
				return text_fail(err, errlen, origin, n->line, "router %s cannot uplink to its own segment",
					    n->name);
		}
		for (int a = 0; a < n->n_addrs; a++) {
			const struct topo_segment *s = n->segment >= 0 ? &t->segments[n->segment] : NULL;
			const char *why = NULL;
			char ab[16];
			if (!s || !(in_prefix(n->addrs[a], s->prefix, s->plen) ||
				    (s->has_public && in_prefix(n->addrs[a], s->public_prefix, s->public_plen))))
				return text_fail(err, errlen, origin, n->line, "an address of %s is outside its segment", n->name);
			if (in_prefix(n->addrs[a], s->prefix, s->plen))
				why = address_problem(n->addrs[a], s->plen);
			if (!why && s->has_public && in_prefix(n->addrs[a], s->public_prefix, s->public_plen))
				why = address_problem(n->addrs[a], s->public_plen);
			if (why)
				return text_fail(err, errlen, origin, n->line, "%s of %s is %s", text_ipv4(n->addrs[a], ab), n->name,
						 why);
		}
		for (int s = 0; s < t->n_segments; s++)
			owns |= t->segments[s].gateway == i;
		if (n->router && !owns)
			return text_fail(err, errlen, origin, n->line, "router %s is the gateway of no segment", n->name);
		if (n->router && n->segment < 0) {
			roots++;
			if (n->nat[0])
				return text_fail(err, errlen, origin, n->line,
					    "router %s translates (nat) but has no uplink to translate onto", n->name);
		}
	}
	if (roots != 1)
		return text_fail(err, errlen, origin, 0, "there must be exactly one router without an uplink (the top), found %d",
			    roots);
	/* Uplinks must form a tree: walking up from any router ends at the top. */
	for (int i = 0; i < t->n_nodes; i++) {
		int cur = i, steps = 0;
		while (t->nodes[cur].segment >= 0 && steps++ <= TOPO_MAX_NODES)
			cur = t->segments[t->nodes[cur].segment].gateway;
		if (steps > TOPO_MAX_NODES)
			return text_fail(err, errlen, origin, t->nodes[i].line, "uplinks of %s go round in a loop",
				    t->nodes[i].name);
	}
	return check_overlaps(t, origin, err, errlen);
}

int topo_parse(const char *name, const char *text, size_t len, const char *origin, struct topo *t,
	       char *err, size_t errlen)
{
	struct pending pend;
	char line[512], *w[24];
	unsigned lineno = 0;
	size_t off = 0;
	long used;
	int n, ret;

	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", name);
	if (len > TOPO_MAX_BYTES)
		return text_fail(err, errlen, origin, 0, "file larger than %d bytes", TOPO_MAX_BYTES);
	while ((used = text_next_line(text + off, len - off, line, sizeof(line))) != 0) {
		lineno++;
		if (used < 0)
			return text_fail(err, errlen, origin, lineno, "line too long or holds a NUL byte");
		off += (size_t)used;
		n = text_split(line, w, 24);
		if (n < 0)
			return text_fail(err, errlen, origin, lineno, "too many words on one line");
		if (n == 0)
			continue;
		if (strcmp(w[0], "param") == 0) {
			if (n < 2)
				return text_fail(err, errlen, origin, lineno, "expected \"param NAME...\"");
			for (int i = 1; i < n; i++) {
				if (t->n_params == TOPO_MAX_PARAMS)
					return text_fail(err, errlen, origin, lineno, "more than %d parameters", TOPO_MAX_PARAMS);
				if (strlen(w[i]) >= TOPO_NAME_MAX || find_param(t, w[i]) >= 0)
					return text_fail(err, errlen, origin, lineno, "bad or repeated parameter \"%s\"", w[i]);
				snprintf(t->params[t->n_params++], TOPO_NAME_MAX, "%s", w[i]);
			}
			ret = 0;
		} else if (strcmp(w[0], "router") == 0 || strcmp(w[0], "host") == 0) {
			ret = parse_node(t, &pend, w, n, w[0][0] == 'r', origin, lineno, err, errlen);
		} else if (strcmp(w[0], "link") == 0) {
			char spec[400] = "", msg[256];
			int node = n >= 3 ? topo_find_node(t, w[1]) : -1;
			if (node < 0)
				return text_fail(err, errlen, origin, lineno,
						 "expected \"link NODE delay=40ms loss=2%% ...\" after NODE is declared");
			for (int i = 2; i < n; i++)
				snprintf(spec + strlen(spec), sizeof(spec) - strlen(spec), "%s ", w[i]);
			if (impair_parse(spec, &t->nodes[node].impair, msg, sizeof(msg)))
				return text_fail(err, errlen, origin, lineno, "%s", msg);
			ret = 0;
		} else if (strcmp(w[0], "segment") == 0) {
			ret = parse_segment(t, &pend, w, n, origin, lineno, err, errlen);
		} else {
			ret = text_fail(err, errlen, origin, lineno, "unknown statement \"%s\"; expected param, router, segment, host or link",
				   w[0]);
		}
		if (ret)
			return ret;
	}
	if (t->n_nodes == 0)
		return text_fail(err, errlen, origin, 0, "no hosts or routers");
	return check_topo(t, &pend, origin, err, errlen);
}

int topo_load(const char *topology, struct topo *t, char *err, size_t errlen)
{
	char path[PATH_MAX], dir[PATH_MAX], name[32];
	char *text;
	size_t len;
	int ret;

	if (strchr(topology, '/')) {
		const char *base = strrchr(topology, '/') + 1;
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(base, "."), base);
		snprintf(path, sizeof(path), "%s", topology);
	} else {
		if (!valid_topology_name(topology)) {
			snprintf(err, errlen, "\"%s\" is not a topology name", topology);
			return -EINVAL;
		}
		if (paths_data_dir("topologies", dir, sizeof(dir))) {
			paths_no_data_dir("topologies", err, errlen);
			return -ENOENT;
		}
		snprintf(name, sizeof(name), "%s", topology);
		snprintf(path, sizeof(path), "%s/%s.topo", dir, topology);
	}
	ret = text_read_file(path, TOPO_MAX_BYTES, &text, &len);
	if (ret) {
		snprintf(err, errlen, "no topology \"%s\" (%s: %s); `punchlab topo list --available` shows the shipped ones",
			 topology, path, ret == -EFBIG ? "too large" : strerror(-ret));
		return ret;
	}
	ret = topo_parse(name, text, len, path, t, err, errlen);
	free(text);
	return ret;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

int topo_list(char names[][32], int max)
{
	char dir[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int n = 0;

	if (paths_data_dir("topologies", dir, sizeof(dir)) || !(d = opendir(dir)))
		return 0;
	while ((de = readdir(d)) && n < max) {
		size_t l = strlen(de->d_name);
		if (l > 5 && l - 5 < 32 && strcmp(de->d_name + l - 5, ".topo") == 0) {
			snprintf(names[n], 32, "%.*s", (int)(l - 5), de->d_name);
			n++;
		}
	}
	closedir(d);
	qsort(names, (size_t)n, 32, cmp_names);
	return n;
}

int topo_gateway_chain(const struct topo *t, int node, int chain[])
{
	int n = 0, seg = t->nodes[node].segment;

	while (seg >= 0 && n < TOPO_MAX_NODES) {
		int g = t->segments[seg].gateway;
		chain[n++] = g;
		seg = t->nodes[g].segment;
	}
	return n;
}

int topo_find_link(const struct topo *t, const char *name)
{
	char base[TOPO_NAME_MAX + 8];
	size_t n = strlen(name);
	int k = topo_find_node(t, name);

	if (k >= 0 || n <= 4 || strcmp(name + n - 4, "-wan") || n - 4 >= TOPO_NAME_MAX)
		return k;
	snprintf(base, sizeof(base), "nat-%.*s", (int)(n - 4), name);
	if ((k = topo_find_node(t, base)) >= 0 && t->nodes[k].router)
		return k;
	snprintf(base, sizeof(base), "%.*s", (int)(n - 4), name);
	k = topo_find_node(t, base);
	return k >= 0 && t->nodes[k].router ? k : -1;
}

const char *topo_params_text(const struct topo *t, char *buf, size_t len)
{
	size_t off = 0;

	snprintf(buf, len, "no parameters");
	for (int i = 0; i < t->n_params && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s=MODEL", i ? " " : "", t->params[i]);
	return buf;
}
