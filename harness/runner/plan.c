/* The plan of a matrix run: which scenarios `punchlab run` runs, from the
 * models, topology, lifecycle and repeat it was given. */
#include "runner.h"
#include "../../lib/util/log.h"

#include <stdio.h>
#include <string.h>

static int add(struct scenario *sc, int n, const char *tool, const char *topo, const char *a, const char *b, int rep)
{
	if (n >= RUNNER_MAX_SCENARIOS)
		return n;
	memset(&sc[n], 0, sizeof(sc[n]));
	snprintf(sc[n].tool, sizeof(sc[n].tool), "%s", tool);
	snprintf(sc[n].topology, sizeof(sc[n].topology), "%s", topo);
	snprintf(sc[n].a, sizeof(sc[n].a), "%s", a);
	snprintf(sc[n].b, sizeof(sc[n].b), "%s", b);
	sc[n].repeat = rep;
	return n + 1;
}

/* Pairs of models (unordered unless ordered) in a topology taking its
 * parameters A and B; one-parameter topologies take each model once. -1:
 * no such topology. */
static int pairs(struct scenario *sc, int n, const char *tool, const char *topo, char names[][NAT_MODEL_NAME_MAX], int k,
		 bool ordered, int rep)
{
	char err[256];
	struct topo t;

	if (topo_load(topo, &t, err, sizeof(err)))
		return -1;
	if (t.n_params == 1) {
		bool b = !strcmp(t.params[0], "B");
		for (int i = 0; i < k; i++)
			n = add(sc, n, tool, topo, b ? "" : names[i], b ? names[i] : "", rep);
		return n;
	}
	for (int i = 0; i < k; i++)
		for (int j = ordered ? 0 : i; j < k; j++)
			n = add(sc, n, tool, topo, names[i], names[j], rep);
	return n;
}

/* "A,B,...": each model loaded (a name or a file), each once. */
static int models_of(const char *list, char names[][NAT_MODEL_NAME_MAX], char *err, size_t errlen)
{
	char buf[1024], *save = NULL;
	int k = 0;

	snprintf(buf, sizeof(buf), "%s", list);
	for (char *m = strtok_r(buf, ",", &save); m && k < RUNNER_MAX_MODELS; m = strtok_r(NULL, ",", &save)) {
		struct nat_model nm;
		bool twice = false;
		if (nat_model_load(m, &nm, err, errlen))
			return -1;
		/* A model named twice is one model: its pairs run once. */
		for (int q = 0; q < k && !twice; q++)
			twice = !strcmp(names[q], m);
		if (twice) {
			pl_err("run: %s is named twice in --models; its pairs run once", m);
			continue;
		}
		snprintf(names[k++], NAT_MODEL_NAME_MAX, "%s", m);
	}
	if (k == 0)
		snprintf(err, errlen, "--models names no model; e.g. --models full-cone,symmetric (punchlab nat list shows them)");
	return k ? k : -1;
}

/* The default matrix: every pair across two sites of the IPv4-only
 * models, the other shapes with models that show what they are about, and
 * the dual-stack models and the IPv6-only site in scenarios of their own
 * (each symmetric over IPv4, or without it: paired with every model they
 * would add only IPv4's verdicts). */
static int default_matrix(struct scenario *sc, int n, const char *tool, char names[][NAT_MODEL_NAME_MAX], int k,
			  bool ordered, int rep)
{
	static char some[3][NAT_MODEL_NAME_MAX] = { "full-cone", "port-restricted-cone", "symmetric" };
	static const char *const dual[][2] = {
		{ "symmetric-ipv6-firewall", "symmetric-ipv6-firewall" },   /* direct over IPv6 only */
		{ "symmetric-ipv6-nptv6", "symmetric-ipv6-firewall" },      /* through prefix translation */
		{ "symmetric-ipv6-nat66", "symmetric-ipv6-firewall" },      /* through NAT66: openers */
		{ "symmetric-ipv6-firewall", "symmetric" },                 /* IPv6 on one side: relayed */
		{ "ipv6-only", "symmetric-ipv6-firewall" },                 /* no IPv4 on one side: IPv6 */
		{ "ipv6-only", "symmetric" },                               /* no family in common: relayed */
	};
	static char v4[RUNNER_MAX_MODELS][NAT_MODEL_NAME_MAX];
	int k4 = 0;

	for (int i = 0; i < k; i++) {
		struct nat_model m;
		char err[256];
		if (nat_model_load(names[i], &m, err, sizeof(err)) || m.ipv6 == NAT_IPV6_NONE)
			snprintf(v4[k4++], sizeof(v4[0]), "%s", names[i]);
	}
	n = pairs(sc, n, tool, "two-sites", v4, k4, ordered, rep);
	for (size_t i = 0; i < sizeof(dual) / sizeof(dual[0]); i++) {
		struct nat_model m;
		char err[256];
		if (!nat_model_load(dual[i][0], &m, err, sizeof(err)) && !nat_model_load(dual[i][1], &m, err, sizeof(err)))
			n = add(sc, n, tool, "two-sites", dual[i][0], dual[i][1], rep);
	}
	n = pairs(sc, n, tool, "same-lan", some, 3, false, rep);
	n = pairs(sc, n, tool, "udp-blocked-site", some, 3, false, rep);
	n = add(sc, n, tool, "same-carrier", "port-restricted-cone", "full-cone", rep);
	n = add(sc, n, tool, "same-carrier", "symmetric", "symmetric", rep);
	n = add(sc, n, tool, "double-nat", "full-cone", "port-restricted-cone", rep);
	return add(sc, n, tool, "double-nat", "symmetric", "full-cone", rep);
}

/* The lifecycle scenarios named (or "all"); -1: none by that name. */
static int lifecycles(struct scenario *sc, int n, const char *tool, const char *name, int rep)
{
	const struct lifecycle *l[32];
	int nl = runner_lifecycles(l, 32), before = n;

	for (int q = 0; q < nl; q++) {
		if (strcmp(name, "all") && strcmp(name, l[q]->name))
			continue;
		n = add(sc, n, tool, l[q]->topology, l[q]->a, l[q]->b, rep);
		snprintf(sc[n - 1].lifecycle, sizeof(sc[n - 1].lifecycle), "%s", l[q]->name);
		snprintf(sc[n - 1].c, sizeof(sc[n - 1].c), "%s", l[q]->c);
	}
	return n == before ? -1 : n;
}

int runner_plan(const struct plan *p, struct scenario *sc, char names[][NAT_MODEL_NAME_MAX], int *k, char *err,
		size_t errlen)
{
	int n = 0;

	*k = p->models ? models_of(p->models, names, err, errlen) : nat_model_list(names, RUNNER_MAX_MODELS);
	if (*k < 0)
		return -1;
	for (int rep = 0; rep < p->repeat; rep++) {
		int r = p->repeat > 1 ? rep + 1 : 0;
		if (p->lifecycle)
			n = lifecycles(sc, n, p->tool, p->lifecycle, r);
		else if (p->topology)
			n = pairs(sc, n, p->tool, p->topology, names, *k, p->ordered, r);
		else if (p->models)
			n = pairs(sc, n, p->tool, "two-sites", names, *k, p->ordered, r);
		else
			n = default_matrix(sc, n, p->tool, names, *k, p->ordered, r);
		if (n < 0) {
			if (p->lifecycle)
				snprintf(err, errlen, "no scenario \"%s\"; punchlab run --list-scenarios shows them", p->lifecycle);
			else
				snprintf(err, errlen, "no topology \"%s\"; punchlab topo list --available shows them", p->topology);
			return -1;
		}
	}
	return n;
}
