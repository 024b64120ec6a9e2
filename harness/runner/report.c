/* What a run leaves: results.json (one scenario per line, so a baseline
 * reads back line by line), junit.xml, a self-contained report.html with
 * an SVG matrix, and the matrix on the terminal. */
#include "runner.h"
#include "../conform/html.h"
#include "../../lib/util/text.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* Names, versions and reasons come from files and tools others wrote: escaped, always. */
static void put_str(FILE *f, const char *s, bool xml)
{
	if (xml) {
		text_xml_put(f, s);
		return;
	}
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
}

/* ,"key":"value" with the value escaped for JSON. */
static void json_field(FILE *f, const char *before, const char *key, const char *value)
{
	fprintf(f, "%s\"%s\":\"", before, key);
	put_str(f, value, false);
	fputc('"', f);
}

static void commit_of(char *buf, size_t len)
{
	char *argv[] = { "git", "rev-parse", "--short", "HEAD", NULL };

	tool_first_line(argv, "unknown", buf, len);
}

static const char *cell(const struct scenario_result *r, char *buf, size_t len)
{
	if (!r->ran || !r->connected)
		snprintf(buf, len, "FAIL");
	else if (r->path == PATH_DIRECT)
		snprintf(buf, len, "direct %.1fs", r->time_to_direct_s);
	else
		snprintf(buf, len, "relay %.1fs", r->time_to_first_reply_s);
	return buf;
}

int runner_write_json(const char *path, const struct scenario_result *res, int n, double wall_s, const char *tool)
{
	FILE *f = fopen(path, "w");
	struct utsname u;
	char commit[64];

	if (!f)
		return -errno;
	uname(&u);
	commit_of(commit, sizeof(commit));
	fprintf(f, "{\"header\":{\"commit\":\"%s\",\"kernel\":\"%s\",\"tool\":\"%s\",\"tool_version\":\"%s\",\"scenarios\":%d,"
		   "\"wall_time_s\":%.1f,\"date\":%ld},\n\"scenarios\":[\n",
		commit, u.release, tool, n ? res[0].tool_version : "", n, wall_s, (long)time(NULL));
	for (int i = 0; i < n; i++) {
		const struct scenario_result *r = &res[i];
		json_field(f, "{", "tool", r->sc.tool);
		json_field(f, ",", "tool_version", r->tool_version);
		json_field(f, ",", "topology", r->sc.topology);
		json_field(f, ",", "a", r->sc.a);
		json_field(f, ",", "b", r->sc.b);
		fprintf(f, ",\"repeat\":%d,", r->sc.repeat);
		fprintf(f, "\"outcome\":\"%s\",\"path\":\"%s\",\"expected_path\":\"%s\",\"expected_technique\":\"%s\",\"expected_reason\":\"",
			r->connected ? "connected" : "failed", path_name(r->path), r->expected_direct ? "direct" : "relay",
			r->expected_technique);
		put_str(f, r->expected_reason, false);
		fprintf(f, "\",\"time_to_first_reply_s\":%.3f,\"time_to_direct_s\":%.3f,\"rtt_ms\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f},",
			r->time_to_first_reply_s, r->time_to_direct_s, r->rtt_p50, r->rtt_p90, r->rtt_p99);
		fprintf(f, "\"probes\":{\"sent\":%d,\"answered\":%d},\"packets\":{\"direct_bytes\":%llu,\"relay_bytes\":%llu},",
			r->probes_sent, r->probes_answered, (unsigned long long)r->direct_bytes, (unsigned long long)r->relay_bytes);
		if (r->sc.lifecycle[0]) {
			const struct lifecycle_result *l = &r->lc;
			fprintf(f, "\"lifecycle\":{\"name\":\"%s\",\"happened\":%s,\"event_at_s\":%.2f,\"sent_after\":%d,"
				   "\"lost_after\":%d,\"first_reply_s\":%.2f,\"relay_s\":%.2f,\"direct_s\":%.2f,\"path_after\":\"%s\","
				   "\"pairs\":%d,\"pairs_connected\":%d},",
				r->sc.lifecycle, l->happened ? "true" : "false", l->event_at_s, l->sent_after, l->lost_after,
				l->first_reply_s, l->relay_s, l->direct_s, path_name(l->path_after), l->pairs, l->pairs_connected);
		}
		fprintf(f, "\"tool_said_path\":\"%s\",\"disagreement\":%s,\"as_expected\":%s,\"wall_s\":%.2f,"
			   "\"kept_run\":\"%s\",\"error\":\"",
			r->tool_said_path == PATH_UNKNOWN ? "" : path_name(r->tool_said_path),
			runner_disagrees(r) ? "true" : "false", runner_as_expected(r) ? "true" : "false", r->wall_s, r->kept_run);
		put_str(f, r->error, false);
		fprintf(f, "\"}%s\n", i + 1 < n ? "," : "");
	}
	fprintf(f, "]}\n");
	return fclose(f) ? -errno : 0;
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
		put_str(f, r->sc.tool, true);
		fputc('.', f);
		put_str(f, r->sc.topology, true);
		fprintf(f, "\" name=\"");
		put_str(f, r->sc.a, true);
		fputc(' ', f);
		put_str(f, r->sc.b, true);
		fprintf(f, "\" time=\"%.2f\">", r->wall_s);
		if (!runner_as_expected(r)) {
			fprintf(f, "<failure message=\"");
			if (!r->connected)
				put_str(f, r->error[0] ? r->error : "no reply through the tunnel", true);
			else if (r->lc.pairs_connected != r->lc.pairs)
				fprintf(f, "%d of %d pairs answered", r->lc.pairs_connected, r->lc.pairs);
			else
				fprintf(f, "relayed, but a direct path is possible (%s)", r->expected_technique);
			fprintf(f, "\"/>");
		}
		fprintf(f, "<system-out>%s</system-out></testcase>\n", cell(r, c, sizeof(c)));
	}
	fprintf(f, "</testsuite>\n");
	return fclose(f) ? -errno : 0;
}

/* Rows A, columns B, for the two-sites scenarios; other topologies listed. */
static int models_of(const struct scenario_result *res, int n, char names[][RUNNER_NAME], int max)
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

static const struct scenario_result *find(const struct scenario_result *res, int n, const char *topo, const char *a,
					  const char *b)
{
	for (int i = 0; i < n; i++)
		if (!res[i].sc.lifecycle[0] && !strcmp(res[i].sc.topology, topo) &&
		    ((!strcmp(res[i].sc.a, a) && !strcmp(res[i].sc.b, b)) ||
							  (!strcmp(res[i].sc.a, b) && !strcmp(res[i].sc.b, a))))
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
		fputc('\n', out);
	}
}

void runner_print_matrix(FILE *out, const struct scenario_result *res, int n)
{
	print_lifecycles(out, res, n);
	char names[32][RUNNER_NAME], c[32];
	int k = models_of(res, n, names, 32);

	if (k) {
		fprintf(out, "%-28s", "two-sites  A \\ B");
		for (int j = 0; j < k; j++)
			fprintf(out, " %-13.13s", names[j]);
		fputc('\n', out);
		for (int i = 0; i < k; i++) {
			fprintf(out, "%-28s", names[i]);
			for (int j = 0; j < k; j++) {
				const struct scenario_result *r = find(res, n, "two-sites", names[i], names[j]);
				fprintf(out, " %-13s", r ? cell(r, c, sizeof(c)) : ".");
			}
			fputc('\n', out);
		}
	}
	for (int i = 0; i < n; i++) {
		const struct scenario_result *r = &res[i];
		bool bad = !runner_as_expected(r);
		if (!strcmp(r->sc.topology, "two-sites") && !bad)
			continue;
		fprintf(out, "%s %s %s: %s (expected %s)%s%s%s%s%s\n", r->sc.topology, r->sc.a, r->sc.b, cell(r, c, sizeof(c)),
			r->expected_direct ? "direct" : "relay", r->error[0] ? ": " : "", r->error,
			r->kept_run[0] ? "; kept up: punchlab topo exec --run " : "", r->kept_run[0] ? r->kept_run : "",
			r->kept_run[0] ? " a (topo down removes it)" : "");
	}
}

/* Text for HTML (element content or a quoted attribute): escaped. */
static void h(FILE *f, const char *s)
{
	text_xml_put(f, s);
}

static const char *path_class(const struct scenario_result *r)
{
	return !r->connected ? "fail" : r->path == PATH_DIRECT ? "direct" : "relay";
}

int runner_write_html(const char *path, const struct scenario_result *res, int n, double wall_s,
		      const struct conform_report *const conf[], int n_conf)
{
	FILE *f = fopen(path, "w");
	char names[32][RUNNER_NAME], c[32];
	int k = models_of(res, n, names, 32), cw = 96, ch = 28, left = 190, top = 150, y;

	if (!f)
		return -errno;
	fprintf(f, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>punchlab run</title>\n"
		   "<style>body{font-family:sans-serif;margin:2em}rect.direct{fill:#4caf50}rect.relay{fill:#ffb300}"
		   "rect.fail{fill:#e53935}rect.unexpected{stroke:#b71c1c;stroke-width:4}tr.unexpected td{outline:2px solid #b71c1c}text{font-size:12px}td,th{padding:2px 8px;text-align:left}</style></head><body>\n");
	fprintf(f, "<h1>punchlab run</h1><p>%d scenarios, %.0f s. Green: direct; amber: relayed; red: no connection. "
		   "A red frame: not what <code>punchlab expect</code> says (no connection, or relayed where a direct path is "
		   "possible). Hover a cell for details.</p>\n", n, wall_s);
	fprintf(f, "<svg id=\"matrix\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\">\n", left + k * cw + 20,
		top + k * ch + 20);
	for (int j = 0; j < k; j++) {
		fprintf(f, "<text transform=\"translate(%d,%d) rotate(-40)\">", left + j * cw + 10, top - 6);
		h(f, names[j]);
		fprintf(f, "</text>\n");
	}
	for (int i = 0; i < k; i++) {
		fprintf(f, "<text x=\"4\" y=\"%d\">", top + i * ch + 18);
		h(f, names[i]);
		fprintf(f, "</text>\n");
		for (int j = 0; j < k; j++) {
			const struct scenario_result *r = find(res, n, "two-sites", names[i], names[j]);
			if (!r)
				continue;
			fprintf(f, "<g class=\"cell\" data-topology=\"two-sites\" data-a=\"");
			h(f, r->sc.a);
			fprintf(f, "\" data-b=\"");
			h(f, r->sc.b);
			fprintf(f, "\" data-path=\"%s\" data-as-expected=\"%s\"><rect class=\"%s%s\" x=\"%d\" y=\"%d\" width=\"%d\" "
				   "height=\"%d\"/><text x=\"%d\" y=\"%d\">%s</text><title>",
				r->connected ? path_name(r->path) : "fail", runner_as_expected(r) ? "true" : "false", path_class(r),
				runner_as_expected(r) ? "" : " unexpected", left + j * cw, top + i * ch, cw - 2, ch - 2,
				left + j * cw + 4, top + i * ch + 18, cell(r, c, sizeof(c)));
			h(f, r->sc.a);
			fprintf(f, " / ");
			h(f, r->sc.b);
			fprintf(f, ": %s; expected %s (", path_name(r->path), r->expected_direct ? "direct" : "relay");
			h(f, r->expected_reason);
			fprintf(f, "); rtt p50 %.2f ms, p99 %.2f ms</title></g>\n", r->rtt_p50, r->rtt_p99);
		}
	}
	fprintf(f, "</svg>\n<h2>Other topologies</h2><table>\n<tr><th>topology</th><th>A</th><th>B</th><th>path</th>"
		   "<th>expected</th><th>first reply</th><th>rtt p50</th></tr>\n");
	for (int i = 0; i < n; i++) {
		const struct scenario_result *r = &res[i];
		if (!strcmp(r->sc.topology, "two-sites"))
			continue;
		fprintf(f, "<tr class=\"cell%s\" data-as-expected=\"%s\" data-topology=\"", runner_as_expected(r) ? "" : " unexpected",
			runner_as_expected(r) ? "true" : "false");
		h(f, r->sc.topology);
		fprintf(f, "\" data-a=\"");
		h(f, r->sc.a);
		fprintf(f, "\" data-b=\"");
		h(f, r->sc.b);
		fprintf(f, "\" data-path=\"%s\"><td>", r->connected ? path_name(r->path) : "fail");
		h(f, r->sc.topology);
		fprintf(f, "</td><td>");
		h(f, r->sc.a);
		fprintf(f, "</td><td>");
		h(f, r->sc.b);
		fprintf(f, "</td><td>%s</td><td>%s</td><td>%.2f s</td><td>%.2f ms</td></tr>\n", cell(r, c, sizeof(c)),
			r->expected_direct ? "direct" : "relay", r->time_to_first_reply_s, r->rtt_p50);
	}
	/* Latency: one bar per scenario, RTT p50 (ms) on a log-free linear axis. */
	fprintf(f, "</table>\n<h2>Latency (RTT p50 through the tunnel)</h2>\n<svg id=\"latency\" xmlns=\"http://www.w3.org/2000/svg\" "
		   "width=\"720\" height=\"%d\">\n", n * 14 + 10);
	y = 0;
	for (int i = 0; i < n; i++) {
		const struct scenario_result *r = &res[i];
		double w = r->rtt_p50 > 0 ? r->rtt_p50 * 100 : 0;
		fprintf(f, "<text x=\"0\" y=\"%d\">", y + 10);
		h(f, r->sc.topology);
		fputc(' ', f);
		h(f, r->sc.a);
		fputc(' ', f);
		h(f, r->sc.b);
		fprintf(f, "</text><rect class=\"%s\" x=\"330\" y=\"%d\" width=\"%.0f\" height=\"10\"/>"
			   "<text x=\"%.0f\" y=\"%d\">%.2f ms</text>\n",
			path_class(r), y, w > 300 ? 300 : w, (w > 300 ? 300 : w) + 334, y + 10, r->rtt_p50);
		y += 14;
	}
	fprintf(f, "</svg>\n");
	for (int i = 0, any = 0; i < n; i++) {
		const struct scenario_result *r = &res[i];
		const struct lifecycle_result *l = &r->lc;
		if (!r->sc.lifecycle[0])
			continue;
		if (!any++)
			fprintf(f, "<h2>Lifecycle scenarios</h2><table id=\"lifecycle\">\n<tr><th>scenario</th><th>pair</th>"
				   "<th>event at</th><th>lost after it</th><th>first reply</th><th>relay after</th>"
				   "<th>direct again</th><th>path after</th></tr>\n");
		fprintf(f, "<tr class=\"lifecycle\" data-scenario=\"");
		h(f, r->sc.lifecycle);
		fprintf(f, "\"><td>");
		h(f, r->sc.lifecycle);
		fprintf(f, "</td><td>");
		h(f, r->sc.a);
		fputc(' ', f);
		h(f, r->sc.b);
		fprintf(f, "</td><td>%.1f s</td><td>%d of %d</td><td>%.2f s</td><td>%.2f s</td><td>%.2f s</td><td>%s</td></tr>\n",
			l->event_at_s, l->lost_after, l->sent_after, l->first_reply_s, l->relay_s, l->direct_s,
			r->connected ? path_name(l->path_after) : "FAIL");
	}
	for (int i = 0; i < n; i++)
		if (res[i].sc.lifecycle[0]) {
			fprintf(f, "</table>\n");
			break;
		}
	if (n_conf)
		conform_html_section(f, conf, n_conf);
	fprintf(f, "</body></html>\n");
	return fclose(f) ? -errno : 0;
}

int runner_baseline_check(const char *path, const struct scenario_result *res, int n, FILE *out)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	int worse = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char topo[RUNNER_NAME], a[RUNNER_NAME * 4], b[RUNNER_NAME * 4], bpath[16], outcome[16], first[32];
		const struct scenario_result *r;
		if (!text_json_field(line, "topology", topo, sizeof(topo)) || !text_json_field(line, "a", a, sizeof(a)) ||
		    !text_json_field(line, "b", b, sizeof(b)) || !text_json_field(line, "path", bpath, sizeof(bpath)) ||
		    !text_json_field(line, "outcome", outcome, sizeof(outcome)))
			continue;
		text_json_field(line, "time_to_first_reply_s", first, sizeof(first));
		if (!(r = find(res, n, topo, a, b)))
			continue;
		if (!strcmp(outcome, "connected") && !r->connected) {
			fprintf(out, "worse: %s %s %s: connected before, failed now\n", topo, a, b);
			worse++;
		} else if (path_parse(bpath) == PATH_DIRECT && r->connected && r->path != PATH_DIRECT) {
			fprintf(out, "worse: %s %s %s: direct before, %s now\n", topo, a, b, path_name(r->path));
			worse++;
		} else if (r->connected && atof(first) > 0 && r->time_to_first_reply_s > 2 * atof(first) + 1.0) {
			fprintf(out, "worse: %s %s %s: first reply after %.2f s, was %.2f s\n", topo, a, b, r->time_to_first_reply_s,
				atof(first));
			worse++;
		}
	}
	fclose(f);
	return worse;
}
