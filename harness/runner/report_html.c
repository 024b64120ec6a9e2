/* report.html: the page a person opens first after a run, or after
 * `punchlab report DIR...` with several runs side by side. One file, no
 * script, no fetch: SVG and tables. Every name, version, reason and error
 * in it came from files and tools others wrote: escaped, always. */
#include "runner.h"
#include "../conform/html.h"
#include "../../lib/util/stats.h"
#include "../../lib/util/text.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MODELS 32
#define MAX_TECH 12
#define LABEL 128

/* How the page names each run (label_of), in the order given. */
typedef char label_t[LABEL];

/* Text for HTML (element content or a quoted attribute). */
static void h(FILE *f, const char *s)
{
	text_xml_put(f, s);
}

static const char *path_class(const struct scenario_result *r)
{
	return !r->connected ? "fail" : r->path == PATH_DIRECT ? "direct" : "relay";
}

/* A cell's data-path: the routers' path, or "fail". */
static const char *data_path(const struct scenario_result *r)
{
	return r->connected ? path_name(r->path) : "fail";
}

/* Why a scenario is not as expected, in a few words ("" when it is). */
static const char *unexpected_why(const struct scenario_result *r)
{
	if (runner_as_expected(r))
		return "";
	if (!r->ran)
		return "could not be set up";
	if (!r->connected)
		return "did not connect";
	if (r->lc.pairs_connected != r->lc.pairs)
		return "not every pair answered";
	if (runner_expect_wrong(r))
		return "direct where `punchlab expect` says no direct path is possible: the theory disagrees";
	if (runner_short_of_direct(r) == SHORT_TECHNIQUE)
		return "relayed where a direct path is possible, by a technique the tool did not use";
	return "relayed where a direct path is possible, for no reason `punchlab expect` knows";
}

struct tally {
	int n, as_expected, direct, relay, failed, no_direct, no_connect, expect_wrong;
	int short_technique, short_unknown;   /* not direct where expect allows: why (runner_short_of_direct) */
};

static struct tally tally_of(const struct run_set *s)
{
	struct tally t = { .n = s->n };

	for (int i = 0; i < s->n; i++) {
		const struct scenario_result *r = &s->res[i];
		bool ok = runner_as_expected(r);
		t.as_expected += ok;
		t.failed += !r->connected;
		t.direct += r->connected && r->path == PATH_DIRECT;
		t.relay += r->connected && r->path != PATH_DIRECT;
		t.no_connect += !ok && !r->connected;
		t.expect_wrong += runner_expect_wrong(r);
		t.no_direct += !ok && r->connected && !runner_expect_wrong(r);
		t.short_technique += runner_short_of_direct(r) == SHORT_TECHNIQUE;
		t.short_unknown += runner_short_of_direct(r) == SHORT_UNKNOWN;
	}
	return t;
}

static const char *tool_of(const struct run_set *s)
{
	return s->info.tool[0] ? s->info.tool : "(no tool named)";
}

/* A run's name on the page: its tool, and where two runs have one tool,
 * the folder it was read from too ("ref (lifecycle-ref)"). */
static const char *label_of(const struct run_set *sets, int nsets, int which, char *buf, size_t len)
{
	const struct run_set *s = &sets[which];
	bool twice = false;
	char dir[sizeof(s->info.source)];
	const char *base;

	for (int i = 0; i < nsets; i++)
		twice |= i != which && !strcmp(tool_of(&sets[i]), tool_of(s));
	if (!twice) {
		snprintf(buf, len, "%s", tool_of(s));
		return buf;
	}
	snprintf(dir, sizeof(dir), "%s", s->info.source);
	if (strrchr(dir, '/'))
		*strrchr(dir, '/') = '\0';   /* the folder of results.json */
	base = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
	if (base[0] && strcmp(base, "results.json") && strcmp(base, tool_of(s)))
		snprintf(buf, len, "%s (%s)", tool_of(s), base);
	else
		snprintf(buf, len, "%s (run %d)", tool_of(s), which + 1);
	return buf;
}

/* "full-cone × symmetric", or one model where the topology takes one. */
static void pair(FILE *f, const struct scenario *sc)
{
	h(f, sc->a);
	if (sc->b[0]) {
		fprintf(f, " &#215; ");
		h(f, sc->b);
	}
	if (sc->c[0]) {
		fprintf(f, " &#215; ");
		h(f, sc->c);
	}
}

/* What `punchlab expect` says: "direct by punching", or "relay". */
static void expected(FILE *f, const struct scenario_result *r)
{
	if (!r->expected_direct) {
		fprintf(f, "relay");
		return;
	}
	fprintf(f, "direct by ");
	h(f, r->expected_technique[0] ? r->expected_technique : "?");
}

static bool plain_pairs(const struct run_set *s)
{
	for (int i = 0; i < s->n; i++)
		if (!s->res[i].sc.lifecycle[0])
			return true;
	return false;
}

/* The headline: as expected or not, and against the baseline. */
static void headline(FILE *f, const struct run_set *s, const char *named)
{
	struct tally t = tally_of(s);
	bool ok = t.as_expected == t.n && s->info.worse <= 0;

	fprintf(f, "<p class=\"headline %s\" data-tool=\"", ok ? "ok" : "bad");
	h(f, tool_of(s));
	fprintf(f, "\" data-as-expected=\"%d\" data-scenarios=\"%d\">%s ", t.as_expected, t.n, ok ? "&#10004;" : "&#10008;");
	if (named) {
		fprintf(f, "<b>");
		h(f, named);
		fprintf(f, "</b>: ");
	}
	if (t.as_expected == t.n)
		fprintf(f, "all %d scenario%s as expected", t.n, t.n == 1 ? "" : "s");
	else
		fprintf(f, "%d of %d scenarios <b>not as expected</b> (%d did not connect, %d relayed where a direct path is "
			   "possible)",
			t.n - t.as_expected, t.n, t.no_connect, t.no_direct);
	if (t.expect_wrong)
		fprintf(f, "; <b class=\"expect-wrong\">%d direct where <code>punchlab expect</code> says no direct path is "
			   "possible: the theory disagrees</b>",
			t.expect_wrong);
	fprintf(f, "; %d direct, %d relayed, %d failed", t.direct, t.relay, t.failed);
	if (t.short_technique + t.short_unknown)
		fprintf(f, "; not direct where expect allows: %d for want of a technique, <span class=\"short-unknown\" "
			   "data-count=\"%d\">%d for no reason expect knows</span>",
			t.short_technique, t.short_unknown, t.short_unknown);
	if (s->info.baseline[0]) {
		fprintf(f, "; <span class=\"baseline\">%d cell%s worse than the baseline ", s->info.worse,
			s->info.worse == 1 ? "" : "s");
		h(f, s->info.baseline);
		fprintf(f, "</span>");
	}
	fprintf(f, "</p>\n");
}

static void about_row(FILE *f, const char *what, const struct run_set *sets, int nsets, size_t off)
{
	fprintf(f, "<tr><th>%s</th>", what);
	for (int i = 0; i < nsets; i++) {
		const char *v = (const char *)&sets[i].info + off;
		fprintf(f, "<td%s>", strcmp(what, "command") ? "" : " class=\"command\"");
		h(f, v[0] ? v : "-");
		fprintf(f, "</td>");
	}
	fprintf(f, "</tr>\n");
}

/* What ran and where: a column per run. */
static void about(FILE *f, const struct run_set *sets, int nsets)
{
	fprintf(f, "<h2>What ran</h2>\n<table id=\"about\">\n");
	about_row(f, "tool", sets, nsets, offsetof(struct run_info, tool));
	about_row(f, "version", sets, nsets, offsetof(struct run_info, tool_version));
	about_row(f, "punchlab commit", sets, nsets, offsetof(struct run_info, commit));
	about_row(f, "command", sets, nsets, offsetof(struct run_info, command));
	about_row(f, "host", sets, nsets, offsetof(struct run_info, host));
	about_row(f, "kernel", sets, nsets, offsetof(struct run_info, kernel));
	about_row(f, "date (UTC)", sets, nsets, offsetof(struct run_info, date));
	fprintf(f, "<tr><th>scenarios, wall time</th>");
	for (int i = 0; i < nsets; i++)
		fprintf(f, "<td>%d in %.0f s</td>", sets[i].n, sets[i].info.wall_s);
	fprintf(f, "</tr>\n");
	if (nsets > 1 || sets[0].info.source[0])
		about_row(f, "read from", sets, nsets, offsetof(struct run_info, source));
	fprintf(f, "</table>\n");
}

/* The two-sites matrix of one run: a cell per pair, its path and time on
 * the first line, the technique `punchlab expect` names (or why it is not
 * as expected) on the second. */
static void matrix(FILE *f, const struct run_set *s, int which)
{
	char names[MAX_MODELS][RUNNER_NAME], c[32];
	int k = runner_models_of(s->res, s->n, names, MAX_MODELS), cw = 118, ch = 38, left = 200, top = 150;

	if (!k)
		return;
	fprintf(f, "<h3>two-sites: A down, B across</h3>\n<svg class=\"matrix\" id=\"matrix%s%.0d\" "
		   "xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\">\n",
		which ? "-" : "", which, left + k * cw + 20, top + k * ch + 20);
	for (int j = 0; j < k; j++) {
		fprintf(f, "<text transform=\"translate(%d,%d) rotate(-35)\">", left + j * cw + 14, top - 6);
		h(f, names[j]);
		fprintf(f, "</text>\n");
	}
	for (int i = 0; i < k; i++) {
		fprintf(f, "<text x=\"4\" y=\"%d\">", top + i * ch + 23);
		h(f, names[i]);
		fprintf(f, "</text>\n");
		for (int j = 0; j < k; j++) {
			const struct scenario_result *r = runner_find(s->res, s->n, "two-sites", names[i], names[j]);
			bool ok;
			int x = left + j * cw, y = top + i * ch;
			if (!r)
				continue;
			ok = runner_as_expected(r);
			fprintf(f, "<g class=\"cell\" data-topology=\"two-sites\" data-a=\"");
			h(f, r->sc.a);
			fprintf(f, "\" data-b=\"");
			h(f, r->sc.b);
			fprintf(f, "\" data-path=\"%s\" data-as-expected=\"%s\" data-technique=\"", data_path(r),
				ok ? "true" : "false");
			h(f, r->expected_technique);
			fprintf(f, "\"><rect class=\"%s%s\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>", path_class(r),
				ok ? "" : " unexpected", x, y, cw - 3, ch - 3);
			fprintf(f, "<text x=\"%d\" y=\"%d\">%s%s</text><text class=\"small\" x=\"%d\" y=\"%d\">", x + 5, y + 15,
				ok ? "" : "&#10008; ", runner_cell_text(r, c, sizeof(c)), x + 5, y + 29);
			if (ok && !r->expected_direct)
				fprintf(f, "relay expected");
			else if (ok)
				h(f, r->expected_technique[0] ? r->expected_technique : "-");
			else
				fprintf(f, "expected %s", r->expected_direct ? "direct" : "relay");
			fprintf(f, "</text><title>");
			h(f, r->sc.a);
			fprintf(f, " / ");
			h(f, r->sc.b);
			fprintf(f, ": %s; expected %s by ", r->connected ? path_name(r->path) : "no connection",
				r->expected_direct ? "direct" : "relay");
			h(f, r->expected_technique);
			fprintf(f, " (");
			h(f, r->expected_reason);
			fprintf(f, ")</title></g>\n");
		}
	}
	fprintf(f, "</svg>\n<p class=\"legend\"><span class=\"sw direct\"></span> direct <span class=\"sw relay\"></span> relayed "
		   "<span class=\"sw fail\"></span> no connection <span class=\"sw unexpected\"></span> &#10008; not what "
		   "<code>punchlab expect</code> says. The second line: the technique that makes the pair direct (or <i>relay "
		   "expected</i>), or what was expected.</p>\n");
}

static void seconds_td(FILE *f, double s, const char *never)
{
	if (s < 0)
		fprintf(f, "<td class=\"num\">%s</td>", never);
	else
		fprintf(f, "<td class=\"num\">%.2f s</td>", s);
}

/* Why the pairs that could go direct did not: per technique the tool did
 * not use, and those for no reason expect knows (its bugs, or ours). */
static void short_section(FILE *f, const struct run_set *s)
{
	struct tally t = tally_of(s);
	char tech[8][RUNNER_TECHNIQUE_LEN];
	int count[8], nt = runner_short_techniques(s->res, s->n, tech, count, 8);

	if (!t.short_technique && !t.short_unknown)
		return;
	fprintf(f, "<h3>Not direct where expect allows it (%d)</h3>\n<table class=\"short\">\n"
		   "<tr><th>why</th><th>pairs</th><th>cells</th></tr>\n",
		t.short_technique + t.short_unknown);
	for (int k = 0; k <= nt; k++) {
		bool unknown = k == nt;
		if (unknown && !t.short_unknown)
			break;
		fprintf(f, "<tr class=\"%s\" data-technique=\"", unknown ? "short-unknown unexpected" : "short-technique");
		h(f, unknown ? "" : tech[k]);
		fprintf(f, "\"><td>");
		if (unknown)
			fprintf(f, "<b>for no reason <code>punchlab expect</code> knows</b>: plain punching, an open side, "
				   "one LAN or a hairpin would do; the tool's bug, or ours");
		else {
			fprintf(f, "needs <b>");
			h(f, tech[k]);
			fprintf(f, "</b>, which the tool did not use");
		}
		fprintf(f, "</td><td class=\"num\">");
		fprintf(f, "%d</td><td>", unknown ? t.short_unknown : count[k]);
		for (int i = 0, shown = 0; i < s->n; i++) {
			const struct scenario_result *r = &s->res[i];
			enum short_of_direct w = runner_short_of_direct(r);
			if (unknown ? w != SHORT_UNKNOWN : w != SHORT_TECHNIQUE || strcmp(runner_short_need(r), tech[k]))
				continue;
			fprintf(f, "%s", shown++ ? "; " : "");
			if (unknown) {
				h(f, r->sc.topology);
				fprintf(f, " ");
			}
			pair(f, &r->sc);
			if (unknown) {
				fprintf(f, " (");
				h(f, r->expected_technique);
				fprintf(f, ")");
			} else if (strcmp(r->sc.topology, "two-sites")) {
				fprintf(f, " (");
				h(f, r->sc.topology);
				fprintf(f, ")");
			}
		}
		fprintf(f, "</td></tr>\n");
	}
	fprintf(f, "</table>\n");
}

/* Every scenario of one run, nothing only on hover. */
static void scenario_table(FILE *f, const struct run_set *s, bool open)
{
	struct tally t = tally_of(s);

	fprintf(f, "<details class=\"scenarios\"%s><summary>Every scenario (%d; %d not as expected)</summary>\n"
		   "<table class=\"scenarios\">\n", open || t.as_expected < t.n ? " open" : "", t.n, t.n - t.as_expected);
	fprintf(f, "<tr><th>scenario</th><th>models</th><th>path</th>"
		   "<th>expected</th><th>as expected</th><th>first reply</th><th>direct after</th><th>RTT p50 / p99</th>"
		   "<th>probes answered</th><th>the tool said</th><th>why expected, or what went wrong</th></tr>\n");
	for (int i = 0; i < s->n; i++) {
		const struct scenario_result *r = &s->res[i];
		bool ok = runner_as_expected(r);
		fprintf(f, "<tr class=\"scenario%s\" data-as-expected=\"%s\" data-topology=\"", ok ? "" : " unexpected",
			ok ? "true" : "false");
		h(f, r->sc.topology);
		fprintf(f, "\" data-a=\"");
		h(f, r->sc.a);
		fprintf(f, "\" data-b=\"");
		h(f, r->sc.b);
		fprintf(f, "\" data-path=\"%s\"><td>", data_path(r));
		h(f, r->sc.lifecycle[0] ? r->sc.lifecycle : r->sc.topology);
		fprintf(f, "</td><td>");
		pair(f, &r->sc);
		fprintf(f, "</td><td class=\"%s\">%s</td><td>", path_class(r), r->connected ? path_name(r->path) : "FAIL");
		expected(f, r);
		fprintf(f, "</td><td>%s</td>", ok ? "yes" : "<b>NO</b>");
		seconds_td(f, r->connected ? r->time_to_first_reply_s : -1, "never");
		seconds_td(f, r->time_to_direct_s, "-");
		if (r->rtt_p50 < 0)
			fprintf(f, "<td class=\"num\">-</td>");
		else
			fprintf(f, "<td class=\"num\">%.2f / %.2f ms</td>", r->rtt_p50, r->rtt_p99);
		fprintf(f, "<td class=\"num\">%d of %d</td><td>%s%s</td><td class=\"why\">", r->probes_answered, r->probes_sent,
			r->tool_said_path == PATH_UNKNOWN ? "-" : path_name(r->tool_said_path),
			runner_disagrees(r) ? " (not what the routers saw)" : "");
		if (!ok) {
			fprintf(f, "<b>%s</b>", unexpected_why(r));
			if (r->error[0]) {
				fprintf(f, ": ");
				h(f, r->error);
			}
			if (r->kept_run[0]) {
				fprintf(f, " (kept up: <code>punchlab topo exec --run ");
				h(f, r->kept_run);
				fprintf(f, " a</code>)");
			}
			fprintf(f, ". ");
		}
		h(f, r->expected_reason);
		for (int k = 0; k < r->n_portmaps; k++) {
			const struct run_portmap *pm = &r->portmaps[k];
			char offers[32], by[32], say[160];
			snprintf(say, sizeof(say), " Port mapping: %s (offers %s) held %d mapping%s%s%s.", pm->router,
				 nat_portmap_name(pm->offers, offers, sizeof(offers)), pm->granted, pm->granted == 1 ? "" : "s",
				 pm->granted ? " by " : "", pm->granted ? nat_portmap_name(pm->by, by, sizeof(by)) : "");
			h(f, say);
		}
		fprintf(f, "</td></tr>\n");
	}
	fprintf(f, "</table></details>\n");
}

/* Several runs side by side: a row per scenario of the first run (then
 * those only later runs have), a column per run. */
static void compare(FILE *f, const struct run_set *sets, int nsets, const label_t *lab)
{
	char c[32];

	fprintf(f, "<h2>Side by side</h2>\n<table id=\"compare\">\n<tr><th>scenario</th>");
	for (int j = 0; j < nsets; j++) {
		if (!plain_pairs(&sets[j]))
			continue;   /* lifecycle scenarios only: nothing to set beside */
		fprintf(f, "<th>");
		h(f, lab[j]);
		fprintf(f, "</th>");
	}
	fprintf(f, "<th>expected</th></tr>\n");
	for (int s = 0; s < nsets; s++)
		for (int i = 0; i < sets[s].n; i++) {
			const struct scenario_result *key = &sets[s].res[i];
			bool earlier = false;
			if (key->sc.lifecycle[0])
				continue;
			for (int q = 0; q < s && !earlier; q++)
				earlier = runner_find(sets[q].res, sets[q].n, key->sc.topology, key->sc.a, key->sc.b) != NULL;
			if (earlier || runner_find(sets[s].res, i, key->sc.topology, key->sc.a, key->sc.b))
				continue;   /* a row each, once */
			fprintf(f, "<tr class=\"row\" data-topology=\"");
			h(f, key->sc.topology);
			fprintf(f, "\" data-a=\"");
			h(f, key->sc.a);
			fprintf(f, "\" data-b=\"");
			h(f, key->sc.b);
			fprintf(f, "\"><th>");
			h(f, key->sc.topology);
			fprintf(f, " ");
			pair(f, &key->sc);
			fprintf(f, "</th>");
			for (int j = 0; j < nsets; j++) {
				const struct scenario_result *r =
					runner_find(sets[j].res, sets[j].n, key->sc.topology, key->sc.a, key->sc.b);
				if (!plain_pairs(&sets[j]))
					continue;
				if (!r) {
					fprintf(f, "<td>not run</td>");
					continue;
				}
				fprintf(f, "<td class=\"%s%s\" data-tool=\"", path_class(r), runner_as_expected(r) ? "" : " unexpected");
				h(f, tool_of(&sets[j]));
				fprintf(f, "\">%s%s</td>", runner_as_expected(r) ? "" : "&#10008; ", runner_cell_text(r, c, sizeof(c)));
			}
			fprintf(f, "<td>");
			expected(f, key);
			fprintf(f, "</td></tr>\n");
		}
	fprintf(f, "</table>\n");
}

/* Time to direct per technique: a row per technique and run, a dot per
 * pair that went direct, its p50 marked, on one axis for all. */
static void distributions(FILE *f, const struct run_set *sets, int nsets, const label_t *lab)
{
	char tech[MAX_TECH][32];
	int nt = 0, rows = 0, left = 600, width = 560, y, plain = 0;
	double max = 1, step;

	for (int s = 0; s < nsets; s++)
		for (int i = 0; i < sets[s].n; i++) {
			const struct scenario_result *r = &sets[s].res[i];
			bool seen = false;
			if (r->time_to_direct_s < 0 || r->sc.lifecycle[0])
				continue;
			max = r->time_to_direct_s > max ? r->time_to_direct_s : max;
			for (int t = 0; t < nt; t++)
				seen |= !strcmp(tech[t], r->expected_technique);
			if (!seen && nt < MAX_TECH)
				snprintf(tech[nt++], sizeof(tech[0]), "%s", r->expected_technique);
		}
	for (int s = 0; s < nsets; s++)
		plain += plain_pairs(&sets[s]);
	if (!nt)
		return;
	/* ticks at whole seconds (or whole multiples of them) */
	step = max <= 6 ? 1 : ceil(max / 6);
	max = step * ceil(max / step);
	rows = nt * plain;
	fprintf(f, "<h2>Time to direct, per technique</h2>\n<p>Each dot a pair that went direct (every repeat): seconds from "
		   "the later of the two peers' start lines to the first probe answered the direct way; the bar marks the "
		   "median (p50). Where the tool says when it registered, the same from the later registration "
		   "(<i>reg.</i>).</p>\n"
		   "<svg id=\"ttd\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\">\n",
		left + width + 40, rows * 24 + 40);
	for (double at = 0; at <= max + 1e-9; at += step) {
		int x = left + (int)(width * at / max);
		fprintf(f, "<line class=\"grid\" x1=\"%d\" y1=\"0\" x2=\"%d\" y2=\"%d\"/><text class=\"small\" x=\"%d\" y=\"%d\">%.0f s</text>\n",
			x, x, rows * 24 + 4, x - 6, rows * 24 + 20, at);
	}
	y = -24;   /* each row adds its height first */
	for (int t = 0; t < nt; t++)
		for (int s = 0; s < nsets; s++) {
			double v[RUNNER_MAX_SCENARIOS], w[RUNNER_MAX_SCENARIOS], p50;
			int n = 0, nw = 0;
			if (!plain_pairs(&sets[s]))
				continue;
			y += 24;
			for (int i = 0; i < sets[s].n; i++) {
				const struct scenario_result *r = &sets[s].res[i];
				if (r->time_to_direct_s >= 0 && !r->sc.lifecycle[0] && !strcmp(r->expected_technique, tech[t])) {
					v[n++] = r->time_to_direct_s;
					if (r->time_to_direct_reg_s >= 0)
						w[nw++] = r->time_to_direct_reg_s;
				}
			}
			fprintf(f, "<text text-anchor=\"end\" x=\"%d\" y=\"%d\">", left - 10, y + 16);
			h(f, tech[t][0] ? tech[t] : "-");
			if (plain > 1) {
				fprintf(f, " (");
				h(f, lab[s]);
				fprintf(f, ")");
			}
			if (!n) {
				fprintf(f, ": none direct</text>\n");
				continue;
			}
			stats_sort(v, n);
			p50 = stats_quantile(v, n, 0.5);
			fprintf(f, ": n=%d, p50 %.3f s, p90 %.3f s, p99 %.3f s", n, p50, stats_quantile(v, n, 0.9),
				stats_quantile(v, n, 0.99));
			if (nw) {
				stats_sort(w, nw);
				fprintf(f, "; reg. p50 %.3f s", stats_quantile(w, nw, 0.5));
			}
			fprintf(f, "</text>\n");
			for (int i = 0; i < n; i++) {
				fprintf(f, "<circle class=\"ttd\" data-technique=\"");
				h(f, tech[t]);
				fprintf(f, "\" data-tool=\"");
				h(f, tool_of(&sets[s]));
				fprintf(f, "\" data-s=\"%.3f\" cx=\"%.1f\" cy=\"%d\" r=\"4\"/>\n", v[i], left + width * v[i] / max, y + 12);
			}
			fprintf(f, "<line class=\"p50\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>\n",
				left + width * p50 / max, y + 2, left + width * p50 / max, y + 22);
		}
	fprintf(f, "</svg>\n");
}

/* A lifecycle scenario's silence after its event and its watch: as the
 * run recorded them, else (older files) as the scenario declares them. */
static double quiet_of(const struct scenario_result *r)
{
	const struct lifecycle *def = runner_lifecycle_find(r->sc.lifecycle);

	return r->lc.quiet_s >= 0 ? r->lc.quiet_s : def ? def->quiet_s : 0;
}

/* Where its line ends: the event, the silence, then the watch or the last
 * thing seen, and a second more. */
static double watch_end(const struct scenario_result *r)
{
	const struct lifecycle *def = runner_lifecycle_find(r->sc.lifecycle);
	const struct lifecycle_result *l = &r->lc;
	double after = l->watch_s >= 0 ? l->watch_s : def ? def->after_s : 0;

	after = l->first_reply_s > after ? l->first_reply_s : after;
	after = l->relay_s > after ? l->relay_s : after;
	after = l->direct_s > after ? l->direct_s : after;
	return (l->event_at_s > 0 ? l->event_at_s : 0) + quiet_of(r) + after + 1;
}

/* Lifecycle scenarios as timelines: settled (grey) until the event, the
 * silence some keep (light grey), lost (red) until the first reply after
 * it, relayed (amber) and direct (green) after, as the routers saw them. */
static void timelines(FILE *f, const struct run_set *sets, int nsets, const label_t *lab)
{
	int rows = 0, left = 330, width = 520, y = 0;
	double end = 1, sc;

	/* one scale for every line: the longest watch */
	for (int s = 0; s < nsets; s++)
		for (int i = 0; i < sets[s].n; i++) {
			const struct scenario_result *r = &sets[s].res[i];
			double e = watch_end(r);
			if (!r->sc.lifecycle[0])
				continue;
			rows++;
			end = e > end ? e : end;
		}
	if (!rows)
		return;
	sc = width / end;
	fprintf(f, "<h2>Lifecycle scenarios</h2>\n<p>Each line one scenario, from the moment the pair settled (grey) through the "
		   "event (the black mark) and the silence some keep after it (light grey) to the end of the watch: red "
		   "while probes went unanswered, amber while relayed, green while direct; a thin mark at each change of path.</p>\n<svg id=\"timelines\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\">\n",
		left + width + 300, rows * 30 + 30);
	for (int s = 0; s < nsets; s++)
		for (int i = 0; i < sets[s].n; i++) {
			const struct scenario_result *r = &sets[s].res[i];
			const struct lifecycle_result *l = &r->lc;
			double ev = l->event_at_s > 0 ? l->event_at_s : 0, t0 = ev + quiet_of(r), fr = l->first_reply_s,
			       rl = l->relay_s, dr = l->direct_s, until = watch_end(r) - t0;
			if (!r->sc.lifecycle[0])
				continue;
			fprintf(f, "<g class=\"timeline\" data-scenario=\"");
			h(f, r->sc.lifecycle);
			fprintf(f, "\" data-tool=\"");
			h(f, tool_of(&sets[s]));
			fprintf(f, "\" data-happened=\"%s\"><text x=\"0\" y=\"%d\">", l->happened ? "true" : "false", y + 15);
			h(f, r->sc.lifecycle);
			if (nsets > 1) {
				fprintf(f, " (");
				h(f, lab[s]);
				fprintf(f, ")");
			}
			fprintf(f, "</text><rect class=\"settled\" x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"14\"/>", left, y + 4, ev * sc);
			if (!l->happened) {
				fprintf(f, "<text class=\"small\" x=\"%.1f\" y=\"%d\">the event never happened</text></g>\n",
					left + ev * sc + 4, y + 15);
				y += 30;
				continue;
			}
			/* the silence the scenario keeps after its event (no probes) */
			if (t0 > ev)
				fprintf(f, "<rect class=\"silent\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"14\"/>", left + ev * sc,
					y + 4, (t0 - ev) * sc);
			/* lost: from the first probe after it to its first reply (or the end) */
			fprintf(f, "<rect class=\"fail\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"14\"/>", left + t0 * sc, y + 4,
				(fr < 0 ? until : fr) * sc);
			if (fr >= 0) {
				/* then relayed (from its first relayed window) until direct again */
				double from = fr;
				if (dr == 0) {      /* never left direct */
					fprintf(f, "<rect class=\"direct\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"14\"/>",
						left + (t0 + from) * sc, y + 4, (until - from > 0 ? until - from : 0) * sc);
				} else {
					double direct_at = dr > 0 ? dr : until;
					double relay_at = rl >= 0 && rl > from ? rl : from;
					fprintf(f, "<rect class=\"%s\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"14\"/>",
						rl >= 0 ? "relay" : "direct", left + (t0 + relay_at) * sc, y + 4,
						(direct_at > relay_at ? direct_at - relay_at : 0) * sc);
					if (dr > 0)
						fprintf(f, "<rect class=\"direct\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"14\"/>",
							left + (t0 + dr) * sc, y + 4, (until - dr > 0 ? until - dr : 0) * sc);
				}
			}
			fprintf(f, "<line class=\"event\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>", left + ev * sc, y,
				left + ev * sc, y + 22);
			fprintf(f, "<text class=\"small\" x=\"%d\" y=\"%d\">lost %d/%d, reply %s", left + width + 6, y + 15,
				l->lost_after, l->sent_after, fr < 0 ? "never" : "");
			if (fr >= 0)
				fprintf(f, "%.2fs", fr);
			fprintf(f, ", %s", r->connected ? path_name(l->path_after) : "FAIL");
			if (l->path_changes)
				fprintf(f, ", %d path change%s", l->path_changes, l->path_changes == 1 ? "" : "s");
			if (l->handshakes)
				fprintf(f, ", %d WireGuard handshake%s", l->handshakes, l->handshakes == 1 ? "" : "s");
			fprintf(f, "</text>");
			/* each change the routers saw: a tick on the line */
			for (int c = 0; c < l->n_changes && c < LC_MAX_CHANGES; c++)
				fprintf(f, "<line class=\"change %s\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>",
					path_name(l->changes[c].path), left + (t0 + l->changes[c].at_s) * sc, y + 2,
					left + (t0 + l->changes[c].at_s) * sc, y + 20);
			fprintf(f, "</g>\n");
			y += 30;
		}
	/* about ten ticks, whatever the file says the times are */
	for (double at = 0, step = end > 60 ? ceil(end / 10) : 5; at <= end; at += step)
		fprintf(f, "<text class=\"small\" x=\"%.1f\" y=\"%d\">%.0f s</text>", left + at * sc - 6, rows * 30 + 20, at);
	fprintf(f, "</svg>\n");
}

/* The runs' names, with commas (the title, the heading). */
static void run_names(FILE *f, const label_t *lab, int nsets)
{
	for (int s = 0; s < nsets; s++) {
		h(f, lab[s]);
		fputs(s + 1 < nsets ? ", " : "", f);
	}
}

int runner_write_html(const char *path, const struct run_set *sets, int nsets, const struct conform_report *const conf[],
		      int n_conf)
{
	label_t *lab;
	FILE *f;

	if (nsets < 1)
		return -EINVAL;
	if (!(lab = calloc((size_t)nsets, sizeof(*lab))))
		return -ENOMEM;
	for (int s = 0; s < nsets; s++)
		label_of(sets, nsets, s, lab[s], sizeof(lab[s]));
	if (!(f = fopen(path, "w"))) {
		free(lab);
		return -errno;
	}
	fprintf(f, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>punchlab: ");
	run_names(f, lab, nsets);
	fprintf(f, "</title>\n<style>body{font-family:sans-serif;margin:2em;max-width:1500px}"
		   ".headline{font-size:1.3em;padding:.4em .8em;border-radius:4px}.headline.ok{background:#e8f5e9}"
		   ".headline.bad{background:#ffebee}"
		   "rect.direct,td.direct,.sw.direct{fill:#66bb6a;background:#c8e6c9}rect.relay,td.relay,.sw.relay{fill:#ffca28;background:#ffecb3}"
		   "rect.fail,td.fail,.sw.fail{fill:#ef5350;background:#ffcdd2}rect.settled{fill:#bdbdbd}rect.silent{fill:#eeeeee}line.change{stroke:#000;stroke-width:1}"
		   "rect.unexpected{stroke:#b71c1c;stroke-width:4}td.unexpected,tr.unexpected td{outline:2px solid #b71c1c}"
		   ".sw{display:inline-block;width:1em;height:1em;vertical-align:middle;border:1px solid #999}"
		   ".sw.unexpected{border:3px solid #b71c1c}"
		   "text{font-size:12px}text.small{font-size:10px}line.grid{stroke:#ddd}line.p50{stroke:#000;stroke-width:2}"
		   "line.event{stroke:#000;stroke-width:3}circle.ttd{fill:#2e7d32;fill-opacity:.6}"
		   "table{border-collapse:collapse}td,th{padding:2px 8px;text-align:left;border-bottom:1px solid #eee;vertical-align:top}"
		   "td.num{text-align:right;white-space:nowrap}td.command{font-family:monospace}td.why{min-width:30em}"
		   "summary{font-weight:bold;margin:1em 0 .5em}</style></head><body>\n");
	fprintf(f, "<h1>punchlab %s: ", nsets > 1 ? "report" : "run");
	run_names(f, lab, nsets);
	fprintf(f, "</h1>\n<div id=\"headline\">\n");
	for (int s = 0; s < nsets; s++)
		headline(f, &sets[s], nsets > 1 ? lab[s] : NULL);
	fprintf(f, "</div>\n<p>As expected: connected, and direct wherever <code>punchlab expect</code> says a direct path is "
		   "possible. The path is what the routers' packet counters saw, not what the tool says.</p>\n");
	about(f, sets, nsets);
	if (nsets > 1)
		compare(f, sets, nsets, lab);
	for (int s = 0; s < nsets; s++) {
		fprintf(f, "<section class=\"run\" data-tool=\"");
		h(f, tool_of(&sets[s]));
		fprintf(f, "\"><h2>");
		h(f, lab[s]);
		fprintf(f, "</h2>\n");
		matrix(f, &sets[s], s);
		short_section(f, &sets[s]);
		scenario_table(f, &sets[s], nsets == 1);
		fprintf(f, "</section>\n");
	}
	distributions(f, sets, nsets, lab);
	timelines(f, sets, nsets, lab);
	if (n_conf)
		conform_html_section(f, conf, n_conf);
	fprintf(f, "</body></html>\n");
	free(lab);
	return text_close_written(f);
}
