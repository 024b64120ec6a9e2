#include "model.h"
#include "../util/paths.h"
#include "../util/text.h"

#include <dirent.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const dependence_words[] = {
	"endpoint-independent", "address-dependent", "address-and-port-dependent",
};
static const char *const ports_words[] = { "preserve", "sequential", "random" };
static const char *const unsolicited_words[] = { "drop-before-confirm", "conntrack" };

const char *nat_dependence_name(enum nat_dependence d) { return dependence_words[d]; }
const char *nat_ports_name(enum nat_ports p) { return ports_words[p]; }
const char *nat_unsolicited_name(enum nat_unsolicited u) { return unsolicited_words[u]; }

static const char *const ipv6_words[] = { "none", "firewall", "nptv6", "nat66" };
static const char *const ipv4_words[] = { "none", "yes" };

const char *nat_ipv6_name(enum nat_ipv6 v) { return ipv6_words[v]; }

bool nat_model_ipv6_view(const struct nat_model *m, struct nat_model *v6)
{
	memset(v6, 0, sizeof(*v6));
	if (m->ipv6 == NAT_IPV6_NONE)
		return false;
	snprintf(v6->name, sizeof(v6->name), "%.*s/ipv6", (int)sizeof(v6->name) - 6, m->name);
	v6->translate = true;
	v6->udp_blocked = m->udp_blocked;
	v6->mapping = NAT_ENDPOINT_INDEPENDENT;
	v6->filtering = NAT_ADDRESS_AND_PORT_DEPENDENT;
	v6->ports = NAT_PORTS_PRESERVE;
	v6->udp_timeout = m->udp_timeout;
	v6->port_min = 1024;
	v6->port_max = 65535;
	/* An unsolicited packet to an inside host is dropped in the forward
	 * chain, before its conntrack entry is confirmed; NAT66's go to the
	 * router itself, where the entry stays (nat-recipes.md). */
	v6->unsolicited = m->ipv6 == NAT_IPV6_NAT66 ? NAT_UNSOLICITED_CONNTRACK : NAT_UNSOLICITED_DROP_BEFORE_CONFIRM;
	v6->ipv6 = m->ipv6;
	return true;
}

static const char *const portmap_words[] = { "upnp", "natpmp", "pcp" };

const char *nat_portmap_name(unsigned portmap, char *buf, size_t len)
{
	size_t off = 0;

	if (!portmap || portmap == NAT_PORTMAP_ALL) {
		snprintf(buf, len, "%s", portmap ? "all" : "none");
		return buf;
	}
	buf[0] = '\0';
	for (int i = 0; i < 3 && off < len; i++)
		if (portmap & (1u << i))
			off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? "," : "", portmap_words[i]);
	return buf;
}

bool nat_portmap_parse(const char *value, unsigned *out)
{
	char buf[64], *save = NULL;

	if (!strcmp(value, "none") || !strcmp(value, "all")) {
		*out = value[0] == 'a' ? NAT_PORTMAP_ALL : 0;
		return true;
	}
	if (strlen(value) >= sizeof(buf) || value[0] == ',' || value[strlen(value) - 1] == ',' || strstr(value, ",,"))
		return false;
	snprintf(buf, sizeof(buf), "%s", value);
	*out = 0;
	for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		int i = 0;
		while (i < 3 && strcmp(w, portmap_words[i]))
			i++;
		if (i == 3 || (*out & (1u << i)))
			return false;
		*out |= 1u << i;
	}
	return *out != 0;
}

enum key {
	K_NAT, K_UDP, K_MAPPING, K_FILTERING, K_PORTS, K_HAIRPIN, K_UDP_TIMEOUT,
	K_UNSOLICITED, K_PORT_RANGE, K_PORT_BLOCK, K_INSIDE, K_PORTMAP, K_IPV6, K_IPV4, K_COUNT
};
static const char *const key_words[K_COUNT] = {
	"nat", "udp", "mapping", "filtering", "ports", "hairpin", "udp-timeout",
	"unsolicited", "port-range", "port-block", "inside", "portmap", "ipv6", "ipv4",
};


/* Index of value in words, or -1; expected gets the "a, b or c" list. */
static int pick(const char *value, const char *const *words, int n, char *expected, size_t len)
{
	size_t off = 0;

	for (int i = 0; i < n; i++)
		if (strcmp(value, words[i]) == 0)
			return i;
	expected[0] = '\0';
	for (int i = 0; i < n && off < len; i++)
		off += (size_t)snprintf(expected + off, len - off, "%s%s",
				       i == 0 ? "" : (i == n - 1 ? " or " : ", "), words[i]);
	return -1;
}

static bool parse_range(const char *s, uint16_t *lo, uint16_t *hi)
{
	char buf[16];
	const char *dash = strchr(s, '-');
	unsigned long a, b;

	if (!dash || (size_t)(dash - s) >= sizeof(buf))
		return false;
	memcpy(buf, s, (size_t)(dash - s));
	buf[dash - s] = '\0';
	if (!text_parse_uint(buf, 1, 65535, &a) || !text_parse_uint(dash + 1, 1, 65535, &b) || a > b)
		return false;
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return true;
}

static int check_model(const struct nat_model *m, const bool *seen, const char *origin,
		       char *err, size_t errlen)
{
	static const enum key napt_only[] = { K_MAPPING, K_FILTERING, K_PORTS, K_HAIRPIN,
		K_UNSOLICITED, K_PORT_RANGE, K_PORT_BLOCK, K_INSIDE, K_UDP_TIMEOUT, K_PORTMAP };

	if (m->no_ipv4 && m->ipv6 == NAT_IPV6_NONE)
		return text_fail(err, errlen, origin, 0,
			    "ipv4 = none leaves the site nothing without IPv6; say ipv6 = firewall, nptv6 or nat66");
	if (m->no_ipv4 && m->translate)
		return text_fail(err, errlen, origin, 0,
			    "ipv4 = none: the site has no IPv4 to translate; say nat = none");
	if (!m->translate) {
		for (size_t i = 0; i < sizeof(napt_only) / sizeof(napt_only[0]); i++)
			if (seen[napt_only[i]])
				return text_fail(err, errlen, origin, 0,
					    "\"%s\" has no meaning with nat = none; remove it",
					    key_words[napt_only[i]]);
		return 0;
	}
	for (enum key k = K_MAPPING; k <= K_PORTS; k++)
		if (!seen[k])
			return text_fail(err, errlen, origin, 0,
				    "missing \"%s\"; a translating model must say its %s", key_words[k],
				    key_words[k]);
	if (m->ports == NAT_PORTS_PRESERVE && m->mapping != NAT_ENDPOINT_INDEPENDENT)
		return text_fail(err, errlen, origin, 0,
			    "ports = preserve keeps one external port per internal port, which is "
			    "endpoint-independent mapping; use ports = sequential or random with mapping = %s",
			    nat_dependence_name(m->mapping));
	if (m->port_block && !m->has_inside)
		return text_fail(err, errlen, origin, 0,
			    "port-block needs \"inside\" (the subscriber prefix the blocks are for)");
	if (m->port_block && m->ports == NAT_PORTS_PRESERVE)
		return text_fail(err, errlen, origin, 0,
			    "port-block allocates from per-subscriber blocks; ports = preserve cannot hold; use random or sequential");
	if (m->port_block > (unsigned)(m->port_max - m->port_min + 1))
		return text_fail(err, errlen, origin, 0, "port-block %u is larger than port-range %u-%u",
			    m->port_block, m->port_min, m->port_max);
	return 0;
}

int nat_model_parse(const char *name, const char *text, size_t len, const char *origin,
		    struct nat_model *m, char *err, size_t errlen)
{
	bool seen[K_COUNT] = { false };
	char line[256], expected[160];
	unsigned lineno = 0;
	size_t off = 0;
	long used;

	memset(m, 0, sizeof(*m));
	if (strlen(name) >= sizeof(m->name) || !name[0])
		return text_fail(err, errlen, origin, 0, "model name must be 1-%zu characters",
			    sizeof(m->name) - 1);
	snprintf(m->name, sizeof(m->name), "%s", name);
	m->translate = true;
	m->udp_timeout = 120;
	m->port_min = 1024;
	m->port_max = 65535;
	if (len > NAT_MODEL_MAX_BYTES)
		return text_fail(err, errlen, origin, 0, "file larger than %d bytes", NAT_MODEL_MAX_BYTES);

	while ((used = text_next_line(text + off, len - off, line, sizeof(line))) != 0) {
		char *eq, *key, *value, *kend;
		unsigned long num;
		int k, v;

		lineno++;
		if (used < 0)
			return text_fail(err, errlen, origin, lineno,
				    "line too long or holds a NUL byte (at most %zu characters)",
				    sizeof(line) - 1);
		off += (size_t)used;
		if (!line[0])
			continue;
		eq = strchr(line, '=');
		if (!eq)
			return text_fail(err, errlen, origin, lineno, "expected \"key = value\", got \"%s\"", line);
		*eq = '\0';
		key = line;
		kend = eq;
		while (kend > key && (kend[-1] == ' ' || kend[-1] == '\t'))
			*--kend = '\0';
		value = eq + 1;
		while (*value == ' ' || *value == '\t')
			value++;
		k = pick(key, key_words, K_COUNT, expected, sizeof(expected));
		if (k < 0)
			return text_fail(err, errlen, origin, lineno, "unknown key \"%s\"; expected %s", key, expected);
		if (seen[k])
			return text_fail(err, errlen, origin, lineno, "\"%s\" given twice", key);
		seen[k] = true;
		if (!value[0] || strpbrk(value, " \t"))
			return text_fail(err, errlen, origin, lineno, "\"%s\" needs one value, got \"%s\"", key, value);

		switch ((enum key)k) {
		case K_NAT: {
			static const char *const w[] = { "napt", "none" };
			if ((v = pick(value, w, 2, expected, sizeof(expected))) < 0)
				goto bad_value;
			m->translate = v == 0;
			break;
		}
		case K_UDP: {
			static const char *const w[] = { "allow", "block" };
			if ((v = pick(value, w, 2, expected, sizeof(expected))) < 0)
				goto bad_value;
			m->udp_blocked = v == 1;
			break;
		}
		case K_MAPPING:
		case K_FILTERING:
			if ((v = pick(value, dependence_words, 3, expected, sizeof(expected))) < 0)
				goto bad_value;
			if (k == K_MAPPING)
				m->mapping = (enum nat_dependence)v;
			else
				m->filtering = (enum nat_dependence)v;
			break;
		case K_PORTS:
			if ((v = pick(value, ports_words, 3, expected, sizeof(expected))) < 0)
				goto bad_value;
			m->ports = (enum nat_ports)v;
			break;
		case K_HAIRPIN: {
			static const char *const w[] = { "no", "yes" };
			if ((v = pick(value, w, 2, expected, sizeof(expected))) < 0)
				goto bad_value;
			m->hairpin = v == 1;
			break;
		}
		case K_UNSOLICITED:
			if ((v = pick(value, unsolicited_words, 2, expected, sizeof(expected))) < 0)
				goto bad_value;
			m->unsolicited = (enum nat_unsolicited)v;
			break;
		case K_UDP_TIMEOUT:
			if (!text_parse_uint(value, 1, 86400, &num))
				return text_fail(err, errlen, origin, lineno,
					    "udp-timeout \"%s\" is not a number of seconds from 1 to 86400", value);
			m->udp_timeout = (unsigned)num;
			break;
		case K_PORT_RANGE:
			if (!parse_range(value, &m->port_min, &m->port_max))
				return text_fail(err, errlen, origin, lineno,
					    "port-range \"%s\" is not LOW-HIGH with 1 <= LOW <= HIGH <= 65535", value);
			break;
		case K_PORT_BLOCK:
			if (!text_parse_uint(value, 1, 65535, &num))
				return text_fail(err, errlen, origin, lineno,
					    "port-block \"%s\" is not a number of ports from 1 to 65535", value);
			m->port_block = (unsigned)num;
			break;
		case K_INSIDE:
			if (!text_parse_prefix(value, &m->inside_addr, &m->inside_len))
				return text_fail(err, errlen, origin, lineno,
					    "inside \"%s\" is not an IPv4 prefix such as 100.64.0.0/16", value);
			m->has_inside = true;
			break;
		case K_PORTMAP:
			if (!nat_portmap_parse(value, &m->portmap))
				return text_fail(err, errlen, origin, lineno,
					    "portmap \"%s\" is not none, all, or some of upnp, natpmp and pcp joined by "
					    "commas (upnp,pcp)", value);
			break;
		case K_IPV6:
			if ((v = pick(value, ipv6_words, 4, expected, sizeof(expected))) < 0)
				goto bad_value;
			m->ipv6 = (enum nat_ipv6)v;
			break;
		case K_IPV4:
			if ((v = pick(value, ipv4_words, 2, expected, sizeof(expected))) < 0)
				goto bad_value;
			m->no_ipv4 = v == 0;
			break;
		case K_COUNT:
			break;
		}
		continue;
bad_value:
		return text_fail(err, errlen, origin, lineno, "unknown %s \"%s\"; expected %s", key, value, expected);
	}
	return check_model(m, seen, origin, err, errlen);
}

static bool valid_model_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= NAT_MODEL_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			return false;
	return true;
}

int nat_model_load(const char *model, struct nat_model *m, char *err, size_t errlen)
{
	char path[PATH_MAX], name[NAT_MODEL_NAME_MAX], dir[PATH_MAX];
	char *text;
	size_t len;
	int ret;

	if (strchr(model, '/') || strstr(model, ".nat")) {
		const char *base = strrchr(model, '/');
		size_t n;

		base = base ? base + 1 : model;
		n = strcspn(base, ".");
		if (n == 0 || n >= sizeof(name))
			n = sizeof(name) - 1;
		snprintf(name, sizeof(name), "%.*s", (int)n, base);
		snprintf(path, sizeof(path), "%s", model);
	} else {
		if (!valid_model_name(model)) {
			char lower[NAT_MODEL_NAME_MAX];
			size_t k;
			for (k = 0; model[k] && k + 1 < sizeof(lower); k++)
				lower[k] = (char)tolower((unsigned char)model[k]);
			lower[k] = '\0';
			if (!model[k] && valid_model_name(lower))
				snprintf(err, errlen, "no NAT model \"%s\": model names are lower case (%s?)", model, lower);
			else
				snprintf(err, errlen,
					 "\"%s\" is not a model name (lower-case letters, digits, '-' and '_'); see `punchlab nat list`",
					 model);
			return -EINVAL;
		}
		if ((ret = paths_data_dir("nat-models", dir, sizeof(dir)))) {
			paths_no_data_dir("nat-models", err, errlen);
			return ret;
		}
		snprintf(name, sizeof(name), "%s", model);
		snprintf(path, sizeof(path), "%s/%s.nat", dir, model);
	}
	ret = text_read_file(path, NAT_MODEL_MAX_BYTES, &text, &len);
	if (ret == -ENOENT) {
		if (strchr(model, '/') || strstr(model, ".nat"))
			snprintf(err, errlen, "no NAT model file %s", path);
		else
			snprintf(err, errlen, "no NAT model \"%s\"; `punchlab nat list` shows the shipped ones", model);
		return ret;
	}
	if (ret) {
		snprintf(err, errlen, "%s: %s", path, ret == -EFBIG ? "file too large" : strerror(-ret));
		return ret;
	}
	ret = nat_model_parse(name, text, len, path, m, err, errlen);
	free(text);
	return ret;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

int nat_model_list(char names[][NAT_MODEL_NAME_MAX], int max)
{
	char dir[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int n = 0;

	if (paths_data_dir("nat-models", dir, sizeof(dir)) || !(d = opendir(dir)))
		return 0;
	while ((de = readdir(d)) && n < max) {
		size_t l = strlen(de->d_name);
		if (l > 4 && l - 4 < NAT_MODEL_NAME_MAX && strcmp(de->d_name + l - 4, ".nat") == 0) {
			snprintf(names[n], NAT_MODEL_NAME_MAX, "%.*s", (int)(l - 4), de->d_name);
			n++;
		}
	}
	closedir(d);
	qsort(names, (size_t)n, NAT_MODEL_NAME_MAX, cmp_names);
	return n;
}

void nat_model_write(const struct nat_model *m, const char *comment, FILE *out)
{
	char a[16];

	for (const char *c = comment; c && *c;) {
		const char *nl = strchr(c, '\n');
		int len = nl ? (int)(nl - c) : (int)strlen(c);

		fprintf(out, "# %.*s\n", len, c);
		c += len + (nl != NULL);
	}
	if (m->udp_blocked)
		fprintf(out, "udp         = block\n");
	if (m->no_ipv4)
		fprintf(out, "ipv4        = none\n");
	if (m->ipv6)
		fprintf(out, "ipv6        = %s\n", nat_ipv6_name(m->ipv6));
	if (!m->translate) {
		fprintf(out, "nat         = none\n");
		return;
	}
	fprintf(out, "mapping     = %s\nfiltering   = %s\nports       = %s\nhairpin     = %s\nudp-timeout = %u\n"
		     "unsolicited = %s\n",
		nat_dependence_name(m->mapping), nat_dependence_name(m->filtering), nat_ports_name(m->ports),
		m->hairpin ? "yes" : "no", m->udp_timeout, nat_unsolicited_name(m->unsolicited));
	if (m->port_min != 1024 || m->port_max != 65535)
		fprintf(out, "port-range  = %u-%u\n", m->port_min, m->port_max);
	if (m->has_inside)
		fprintf(out, "inside      = %s/%u\n", text_ipv4(m->inside_addr, a), m->inside_len);
	if (m->port_block)
		fprintf(out, "port-block  = %u\n", m->port_block);
	if (m->portmap) {
		char pm[32];
		fprintf(out, "portmap     = %s\n", nat_portmap_name(m->portmap, pm, sizeof(pm)));
	}
}
