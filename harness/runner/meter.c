#include "meter.h"
#include "../nl/nflog.h"
#include "../nl/nftcount.h"
#include "../topo/build.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The segment through which node's path enters router `at` (node's own
 * segment if `at` is its gateway). */
static int segment_below(const struct topo *t, int node, int at)
{
	int seg = t->nodes[node].segment;

	while (seg >= 0 && t->segments[seg].gateway != at)
		seg = t->nodes[t->segments[seg].gateway].segment;
	return seg;
}

/* The rules to install in one namespace (a router, or a LAN's gateway
 * for its bridge). */
struct place {
	char ns[64];
	bool bridge;
	struct nftcount_rule rules[NFTCOUNT_MAX_RULES];
	int n;
};

static struct place *place_for(struct place *places, int *n, const char *ns, bool bridge)
{
	for (int i = 0; i < *n; i++)
		if (!strcmp(places[i].ns, ns) && places[i].bridge == bridge)
			return &places[i];
	snprintf(places[*n].ns, sizeof(places[*n].ns), "%s", ns);
	places[*n].bridge = bridge;
	places[*n].n = 0;
	return &places[(*n)++];
}

static int add_rule(struct place *p, const char *name, const char *iif, const char *oif, uint16_t log_min_len, char *err,
		    size_t errlen)
{
	if (p->n >= NFTCOUNT_MAX_RULES) {
		snprintf(err, errlen, "too many counters in %s", p->ns);
		return -E2BIG;
	}
	p->rules[p->n++] = (struct nftcount_rule){ name, iif, oif, log_min_len ? METER_LOG_GROUP : 0, log_min_len };
	return 0;
}

int meter_install(struct meter *m, const struct topo_net *net, const struct instance *r, const char *const hosts[], int n_hosts,
		  uint16_t log_min_len, char *err, size_t errlen)
{
	const struct topo *t = &net->topo;
	struct place places[METER_MAX_HOSTS * 2 + 1];
	int n_places = 0, idx[METER_MAX_HOSTS], intro = topo_find_node(t, "introducer"), iseg, ir, ret;
	char ns[64];

	memset(m, 0, sizeof(*m));
	if (n_hosts < 2 || n_hosts > METER_MAX_HOSTS || intro < 0) {
		snprintf(err, errlen, "topology %s: counting needs 2 or 3 hosts and an introducer", t->name);
		return -EINVAL;
	}
	m->n_hosts = n_hosts;
	for (int i = 0; i < n_hosts; i++) {
		if ((idx[i] = topo_find_node(t, hosts[i])) < 0) {
			snprintf(err, errlen, "topology %s has no host %s", t->name, hosts[i]);
			return -EINVAL;
		}
		snprintf(m->hosts[i], sizeof(m->hosts[i]), "%s", hosts[i]);
	}
	for (int i = 0; i < n_hosts; i++)
		for (int j = i + 1; j < n_hosts; j++) {
			struct meter_pair *pr = &m->pairs[m->n_pairs++];
			struct place *pl;
			uint16_t log = m->n_pairs == 1 ? log_min_len : 0;   /* the first pair's alone, packet by packet */
			pr->x = i, pr->y = j;
			snprintf(pr->name, sizeof(pr->name), "direct-%s-%s", hosts[i], hosts[j]);
			if (t->nodes[idx[i]].segment == t->nodes[idx[j]].segment) {
				/* One LAN: the bridge of its gateway carries a direct path. */
				int gw = t->segments[t->nodes[idx[i]].segment].gateway;
				topo_node_netns(r, t->nodes[gw].name, pr->ns, sizeof(pr->ns));
				pr->bridge = true;
				pl = place_for(places, &n_places, pr->ns, true);
				if ((ret = add_rule(pl, pr->name, NULL, NULL, log, err, errlen)))
					return ret;
			} else {
				int ci[TOPO_MAX_NODES], cj[TOPO_MAX_NODES], ni = topo_gateway_chain(t, idx[i], ci),
				    nj = topo_gateway_chain(t, idx[j], cj), meet = -1;
				for (int a = 0; a < ni && meet < 0; a++)
					for (int b = 0; b < nj; b++)
						if (ci[a] == cj[b]) {
							meet = ci[a];
							break;
						}
				if (meet < 0) {
					snprintf(err, errlen, "in topology %s, %s and %s share no router", t->name, hosts[i], hosts[j]);
					return -EINVAL;
				}
				const char *si = t->segments[segment_below(t, idx[i], meet)].name,
					   *sj = t->segments[segment_below(t, idx[j], meet)].name;
				topo_node_netns(r, t->nodes[meet].name, pr->ns, sizeof(pr->ns));
				pl = place_for(places, &n_places, pr->ns, false);
				if ((ret = add_rule(pl, pr->name, si, sj, log, err, errlen)))
					return ret;
				/* Two homes behind one carrier: one segment, both ways. */
				if (strcmp(si, sj) && (ret = add_rule(pl, pr->name, sj, si, log, err, errlen)))
					return ret;
			}
		}
	iseg = t->nodes[intro].segment;
	ir = t->segments[iseg].gateway;
	topo_node_netns(r, t->nodes[ir].name, ns, sizeof(ns));
	snprintf(m->relay_ns, sizeof(m->relay_ns), "%s", ns);
	{
		struct place *pl = place_for(places, &n_places, ns, false);
		if ((ret = add_rule(pl, "relay", t->segments[iseg].name, NULL, log_min_len, err, errlen)) ||
		    (ret = add_rule(pl, "relay", NULL, t->segments[iseg].name, log_min_len, err, errlen)))
			return ret;
	}
	for (int i = 0; i < n_places; i++)
		if ((ret = nftcount_install(places[i].ns, places[i].bridge, places[i].rules, places[i].n, err, errlen)))
			return ret;
	if (!log_min_len)
		return 0;
	/* One listener per namespace: the relay's shares the direct one's
	 * when they are the same router. */
	if (!(m->log[0] = nflog_open(m->pairs[0].ns, METER_LOG_GROUP, err, errlen)))
		return -EIO;
	if (strcmp(m->relay_ns, m->pairs[0].ns) && !(m->log[1] = nflog_open(m->relay_ns, METER_LOG_GROUP, err, errlen))) {
		meter_close(m);
		return -EIO;
	}
	return 0;
}

void meter_close(struct meter *m)
{
	for (int i = 0; i < 2; i++) {
		nflog_close(m->log[i]);
		m->log[i] = NULL;
	}
}

static void count_logged(const char *prefix, void *arg)
{
	struct meter *m = arg;

	if (!strcmp(prefix, "relay"))
		m->logged_relay++;
	else if (!strcmp(prefix, m->pairs[0].name))
		m->logged_direct++;
}

int meter_read_packets(struct meter *m, uint64_t *direct, uint64_t *relay)
{
	int ret = 0;

	for (int i = 0; i < 2; i++)
		if (m->log[i] && nflog_drain(m->log[i], count_logged, m) == -ENOBUFS)
			ret = -ENOBUFS;
	*direct = m->logged_direct;
	*relay = m->logged_relay;
	return ret;
}

/* The pair of hosts x and y, either way round, or NULL. */
static const struct meter_pair *pair_of(const struct meter *m, const char *x, const char *y)
{
	for (int i = 0; i < m->n_pairs; i++) {
		const char *hx = m->hosts[m->pairs[i].x], *hy = m->hosts[m->pairs[i].y];
		if ((!strcmp(hx, x) && !strcmp(hy, y)) || (!strcmp(hx, y) && !strcmp(hy, x)))
			return &m->pairs[i];
	}
	return NULL;
}

int meter_read6(const struct meter *m, const char *x, const char *y, uint64_t *direct6)
{
	const struct meter_pair *pr = pair_of(m, x, y);
	char name[40];
	uint64_t p;

	if (!pr)
		return -ENOENT;
	snprintf(name, sizeof(name), "%s/6", pr->name);
	return nftcount_read(pr->ns, pr->bridge, name, &p, direct6);
}

int meter_read(const struct meter *m, const char *x, const char *y, uint64_t *direct, uint64_t *relay)
{
	const struct meter_pair *pr = pair_of(m, x, y);
	uint64_t p;

	if (!pr)
		return -ENOENT;
	if (nftcount_read(pr->ns, pr->bridge, pr->name, &p, direct))
		*direct = 0;
	if (nftcount_read(m->relay_ns, 0, "relay", &p, relay))
		*relay = 0;
	return 0;
}
