/* What a run shows on the terminal (the matrix, the lifecycle table),
 * junit.xml for CI pages, and the comparison with a baseline. */
#include "runner.h"
#include "../../lib/util/text.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Names, versions and reasons come from files and tools others wrote: escaped, always. */
static void put_str(FILE *f, const char *s)
{
	text_xml_put(f, s);
}

const char *runner_cell_text(const struct scenario_result *r, char *buf, size_t len)
{
	if (!r->ran || !r->connected)
		snprintf(buf, len, "FAIL");
	else if (r->path == PATH_DIRECT)   /* to the packet: hundredths where they fit */
		snprintf(buf, len, r->time_to_direct_s < 10 ? "direct %.2fs" : "direct %.1fs", r->time_to_direct_s);
	else
		snprintf(buf, len, r->time_to_first_reply_s < 10 ? "relay %.2fs" : "relay %.1fs", r->time_to_first_reply_s);
	return buf;
}

int runner_write_junit(const char *path, const struct scenario_result *res, int n, double wall_s)
{
	FILE *f = fopen(path, "w");
	int failures = 0;

	if (!f)
		return -errno;
	for (int i = 0; i < n; i++)
		failures += !runner_as_expected(&res[i]);
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"punchlab run\" tests=\"%d\" failures=\"%d\" time=\"%.1f\">\n",
		n, failures, wall_s);
	for (int i = 0; i < n; i++) {
		const struct scenario_result *r = &res[i];
		char c[32];
		fprintf(f, "  <testcase classname=\"");
		put_str(f, r->sc.tool);
		fputc('.', f);
		put_str(f, r->sc.topology);
		fprintf(f, "\" name=\"");
		put_str(f, r->sc.a);
		fputc(' ', f);
		put_str(f, r->sc.b);
		fprintf(f, "\" time=\"%.2f\">", r->wall_s);
		if (!runner_as_expected(r)) {
			fprintf(f, "<failure message=\"");
			if (!r->connected)
				put_str(f, r->error[0] ? r->error : "no reply through the tunnel");
			else if (r->lc.pairs_connected != r->lc.pairs)
				fprintf(f, "%d of %d pairs answered", r->lc.pairs_connected, r->lc.pairs);
			else if (runner_expect_wrong(r))
				fprintf(f, "direct, but punchlab expect says no direct path is possible: a disagreement with expect");
			else {
				fprintf(f, "relayed, but a direct path is possible (");
				put_str(f, r->expected_technique);
				fprintf(f, runner_short_of_direct(r) == SHORT_TECHNIQUE ? ": a technique the tool did not use)"
											  : ": for no reason expect knows)");
			}
			fprintf(f, "\"/>");
		}
		fprintf(f, "<system-out>%s</system-out></testcase>\n", runner_cell_text(r, c, sizeof(c)));
	}
	fprintf(f, "</testsuite>\n");
	return text_close_written(f);
}

/* Rows A, columns B, for the two-sites scenarios; other topologies listed. */
int runner_models_of(const struct scenario_result *res, int n, char names[][RUNNER_NAME], int max)
{
	int k = 0;

	for (int i = 0; i < n; i++) {
		const char *m[2] = { res[i].sc.a, res[i].sc.b };
		if (strcmp(res[i].sc.topology, "two-sites") || res[i].sc.lifecycle[0])
			continue;
		for (int j = 0; j < 2; j++) {
			bool seen = false;
			for (int q = 0; q < k; q++)
				seen |= !strcmp(names[q], m[j]);
			if (!seen && k < max)
				snprintf(names[k++], RUNNER_NAME, "%s", m[j]);
		}
	}
	return k;
}

/* Is sc the plain pair a and b (either way round) in topo? */
static bool same_cell(const struct scenario *sc, const char *topo, const char *a, const char *b)
{
	return !sc->lifecycle[0] && !strcmp(sc->topology, topo) &&
	       ((!strcmp(sc->a, a) && !strcmp(sc->b, b)) || (!strcmp(sc->a, b) && !strcmp(sc->b, a)));
}

const struct scenario_result *runner_find(const struct scenario_result *res, int n, const char *topo, const char *a,
					   const char *b)
{
	for (int i = 0; i < n; i++)
		if (same_cell(&res[i].sc, topo, a, b))
			return &res[i];
	return NULL;
}

/* Lifecycle scenarios: what happened and how the tunnel came through. */
static void print_lifecycles(FILE *out, const struct scenario_result *res, int n)
{
	bool any = false;
	int width = 4;   /* the pair column: as wide as its widest pair, nothing cut */

	for (int i = 0; i < n; i++) {
		char pair[3 * RUNNER_NAME * 4 + 4];
		int w;
		if (!res[i].sc.lifecycle[0])
			continue;
		w = snprintf(pair, sizeof(pair), "%s %s%s%s", res[i].sc.a + (res[i].sc.a[0] == '@'),
			     res[i].sc.b + (res[i].sc.b[0] == '@'), res[i].sc.c[0] ? " " : "", res[i].sc.c);
		width = w > width ? w : width;
	}
	for (int i = 0; i < n; i++) {
		const struct scenario_result *r = &res[i];
		const struct lifecycle_result *l = &r->lc;
		if (!r->sc.lifecycle[0])
			continue;
		if (!any)
			fprintf(out, "%-24s %-*s %8s %6s %9s %8s %9s  %s\n", "scenario", width, "pair", "event at", "lost",
				"1st reply", "relay", "direct", "path after");
		any = true;
		char pair[3 * RUNNER_NAME * 4 + 4], ev[16], fr[16], rl[16], dr[16];
		snprintf(pair, sizeof(pair), "%s %s%s%s", r->sc.a + (r->sc.a[0] == '@'), r->sc.b + (r->sc.b[0] == '@'),
			 r->sc.c[0] ? " " : "", r->sc.c);
		snprintf(ev, sizeof(ev), l->happened ? "%.1fs" : "never", l->event_at_s);
		snprintf(fr, sizeof(fr), l->first_reply_s < 0 ? "none" : "%.2fs", l->first_reply_s);
		snprintf(rl, sizeof(rl), l->relay_s < 0 ? "-" : "%.2fs", l->relay_s);
		snprintf(dr, sizeof(dr), l->direct_s < 0 ? "-" : l->direct_s == 0 ? "stayed" : "%.2fs", l->direct_s);
		fprintf(out, "%-24s %-*s %8s %3d/%-3d %8s %8s %9s  %s", r->sc.lifecycle, width, pair, ev, l->lost_after,
			l->sent_after, fr, rl, dr, r->connected ? path_name(l->path_after) : "FAIL");
		if (l->pairs)
			fprintf(out, ", %d of %d pairs answer", l->pairs_connected, l->pairs);
		if (l->path_changes)
			fprintf(out, ", %d path change%s after it", l->path_changes, l->path_changes == 1 ? "" : "s");
		if (l->handshakes)
			fprintf(out, ", %d WireGuard handshake%s", l->handshakes, l->handshakes == 1 ? "" : "s");
		fputc('\n', out);
	}
}

/* The pairs not direct where expect says they can be, and why: a
 * technique the tool did not use (counted per technique), or no reason
 * expect knows (each named: the tool's bugs, or ours). */
static void print_short(FILE *out, const struct scenario_result *res, int n)
{
	char tech[8][RUNNER_TECHNIQUE_LEN];
	int count[8], nt = runner_short_techniques(res, n, tech, count, 8), total = 0, unknown = 0;

	for (int i = 0; i < n; i++) {
		enum short_of_direct s = runner_short_of_direct(&res[i]);
		total += s != SHORT_NOT;
		unknown += s == SHORT_UNKNOWN;
	}
	if (!total)
		return;
	fprintf(out, "not direct where expect says it can be: %d pair%s; %d need%s a technique the tool did not use", total,
		total == 1 ? "" : "s", total - unknown, total - unknown == 1 ? "s" : "");
	for (int t = 0; t < nt; t++)
		fprintf(out, "%s%s %d", t ? ", " : " (", tech[t], count[t]);
	fprintf(out, "%s; %d for no reason expect knows%s", nt ? ")" : "", unknown, unknown ? ":" : "\n");
	for (int i = 0, k = 0; i < n; i++) {
		const struct scenario *sc = &res[i].sc;
		if (runner_short_of_direct(&res[i]) != SHORT_UNKNOWN)
			continue;
		fprintf(out, "%s %s %s%s%s (%s)", k ? "," : "", sc->topology, sc->a, sc->b[0] ? " " : "", sc->b,
			res[i].expected_technique);
		if (++k == unknown)
			fputc('\n', out);
	}
}

void runner_print_matrix(FILE *out, const struct scenario_result *res, int n)
{
	print_lifecycles(out, res, n);
	char names[32][RUNNER_NAME], c[32];
	int k = runner_models_of(res, n, names, 32);

	if (k) {
		fprintf(out, "%-28s", "two-sites  A \\ B");
		for (int j = 0; j < k; j++)
			fprintf(out, " %-13.13s", names[j]);
		fputc('\n', out);
		for (int i = 0; i < k; i++) {
			fprintf(out, "%-28s", names[i]);
			for (int j = 0; j < k; j++) {
				const struct scenario_result *r = runner_find(res, n, "two-sites", names[i], names[j]);
				fprintf(out, " %-13s", r ? runner_cell_text(r, c, sizeof(c)) : ".");
			}
			fputc('\n', out);
		}
	}
	for (int i = 0; i < n; i++) {
		const struct scenario_result *r = &res[i];
		bool bad = !runner_as_expected(r);
		if (!strcmp(r->sc.topology, "two-sites") && !bad)
			continue;
		fprintf(out, "%s %s %s: %s (expected %s)%s%s%s%s%s%s\n", r->sc.topology, r->sc.a, r->sc.b,
			runner_cell_text(r, c, sizeof(c)), r->expected_direct ? "direct" : "relay",
			runner_expect_wrong(r) ? ": DISAGREES WITH EXPECT, which says no direct path is possible" : "",
			r->error[0] ? ": " : "", r->error,
			r->kept_run[0] ? "; kept up: punchlab topo exec --run " : "", r->kept_run[0] ? r->kept_run : "",
			r->kept_run[0] ? " a (topo down removes it)" : "");
	}
	print_short(out, res, n);
}

int runner_baseline_check(const struct run_set *base, const struct scenario_result *res, int n, FILE *out)
{
	int worse = 0;

	for (int i = 0; i < base->n; i++) {
		const struct scenario_result *b = &base->res[i], *r;
		const char *topo = b->sc.topology, *x = b->sc.a, *y = b->sc.b;
		if (b->sc.lifecycle[0] || !(r = runner_find(res, n, topo, x, y)))
			continue;
		if (b->connected && !r->connected) {
			fprintf(out, "worse: %s %s %s: connected before, failed now\n", topo, x, y);
			worse++;
		} else if (b->path == PATH_DIRECT && r->connected && r->path != PATH_DIRECT) {
			fprintf(out, "worse: %s %s %s: direct before, %s now\n", topo, x, y, path_name(r->path));
			worse++;
		} else if (r->connected && b->time_to_first_reply_s > 0 &&
			   r->time_to_first_reply_s > 2 * b->time_to_first_reply_s + 1.0) {
			fprintf(out, "worse: %s %s %s: first reply after %.2f s, was %.2f s\n", topo, x, y,
				r->time_to_first_reply_s, b->time_to_first_reply_s);
			worse++;
		}
	}
	return worse;
}

int runner_baseline_overlap(const struct run_set *base, const struct scenario *sc, int n)
{
	int common = 0;

	for (int i = 0; i < base->n; i++) {
		const struct scenario *b = &base->res[i].sc;
		bool found = false;
		if (b->lifecycle[0])
			continue;
		for (int j = 0; j < n && !found; j++)
			found = same_cell(&sc[j], b->topology, b->a, b->b);
		common += found;
	}
	return common;
}
