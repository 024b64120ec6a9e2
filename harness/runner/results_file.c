/* results.json: what a run writes of itself (one scenario per line, so a
 * person can grep it), and the reader that brings one back for a
 * --baseline or `punchlab report`. The reader takes files others wrote,
 * or edited: json-c parses them (escapes, nesting, numbers), and each
 * field is checked for its type and cut to its buffer. */
#include "runner.h"
#include "../../lib/util/proc.h"
#include "../../lib/util/text.h"

#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

/* ,"key":"value" */
static void field(FILE *f, const char *before, const char *key, const char *value)
{
	fprintf(f, "%s\"%s\":", before, key);
	text_json_put(f, value);
}

/* ,"key":seconds, or null for "never" (a negative time). */
static void seconds(FILE *f, const char *before, const char *key, double s, const char *fmt)
{
	fprintf(f, "%s\"%s\":", before, key);
	if (s < 0)
		fputs("null", f);
	else
		fprintf(f, fmt, s);
}

void runner_info_now(struct run_info *info, const char *tool, const char *tool_version, double wall_s, int argc,
		     char **argv)
{
	char *cv[] = { "git", "rev-parse", "--short", "HEAD", NULL };
	struct utsname u;
	time_t now = time(NULL);
	size_t at = 0;

	memset(info, 0, sizeof(*info));
	snprintf(info->tool, sizeof(info->tool), "%s", tool);
	snprintf(info->tool_version, sizeof(info->tool_version), "%s", tool_version);
	if (proc_capture_for(NULL, cv, NULL, PROC_ERR_TO_NULL, info->commit, sizeof(info->commit), 5000) != 0)
		info->commit[0] = '\0';
	info->commit[strcspn(info->commit, "\n")] = '\0';
	if (!info->commit[strspn(info->commit, " ")])
		snprintf(info->commit, sizeof(info->commit), "unknown");
	if (!uname(&u)) {
		snprintf(info->kernel, sizeof(info->kernel), "%s", u.release);
		snprintf(info->host, sizeof(info->host), "%s", u.nodename);
	}
	strftime(info->date, sizeof(info->date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	info->wall_s = wall_s;
	info->worse = -1;
	/* The command as a person would type it again: words with anything
	 * but plain characters in single quotes. Shown, never run. */
	at = (size_t)snprintf(info->command, sizeof(info->command), "punchlab");
	for (int i = 0; i < argc && at < sizeof(info->command); i++) {
		const char *w = argv[i];
		bool plain = w[0] && strspn(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=,./:@+") ==
					     strlen(w);
		at += (size_t)snprintf(info->command + at, sizeof(info->command) - at, plain ? " %s" : " '", w);
		for (const char *p = w; !plain && *p && at < sizeof(info->command); p++)
			at += (size_t)snprintf(info->command + at, sizeof(info->command) - at, *p == '\'' ? "'\\''" : "%c", *p);
		if (!plain && at < sizeof(info->command))
			at += (size_t)snprintf(info->command + at, sizeof(info->command) - at, "'");
	}
}

int runner_write_json(const char *path, const struct run_info *info, const struct scenario_result *res, int n)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	field(f, "{\"header\":{", "tool", info->tool);
	field(f, ",", "tool_version", info->tool_version);
	field(f, ",", "transport", info->tcp ? "tcp" : "udp");
	field(f, ",", "commit", info->commit);
	field(f, ",", "kernel", info->kernel);
	field(f, ",", "host", info->host);
	field(f, ",", "date_utc", info->date);
	field(f, ",", "command", info->command);
	fprintf(f, ",\"scenarios\":%d,\"wall_time_s\":%.1f,\"date\":%ld", n, info->wall_s, (long)time(NULL));
	if (info->shards)
		fprintf(f, ",\"shard\":\"%d/%d\"", info->shard, info->shards);
	if (info->baseline[0]) {
		field(f, ",", "baseline", info->baseline);
		fprintf(f, ",\"worse_than_baseline\":%d", info->worse);
	}
	fprintf(f, "},\n\"scenarios\":[\n");
	for (int i = 0; i < n; i++) {
		const struct scenario_result *r = &res[i];
		field(f, "{", "tool", r->sc.tool);
		field(f, ",", "tool_version", r->tool_version);
		field(f, ",", "topology", r->sc.topology);
		field(f, ",", "a", r->sc.a);
		field(f, ",", "b", r->sc.b);
		if (r->sc.c[0])
			field(f, ",", "c", r->sc.c);
		fprintf(f, ",\"repeat\":%d,\"ran\":%s,\"outcome\":\"%s\",\"path\":\"%s\",\"expected_path\":\"%s\"", r->sc.repeat,
			r->ran ? "true" : "false", r->connected ? "connected" : "failed", path_name(r->path),
			r->expected_direct ? "direct" : "relay");
		field(f, ",", "expected_technique", r->expected_technique);
		if (r->expected_ipv6_only)
			fprintf(f, ",\"expected_family\":\"ipv6\"");
		field(f, ",", "expected_reason", r->expected_reason);
		seconds(f, ",", "time_to_first_reply_s", r->time_to_first_reply_s, "%.3f");
		seconds(f, ",", "time_to_direct_s", r->time_to_direct_s, "%.3f");
		if (r->time_to_direct_reg_s >= 0)
			seconds(f, ",", "time_to_direct_from_registration_s", r->time_to_direct_reg_s, "%.3f");
		seconds(f, ",\"rtt_ms\":{", "p50", r->rtt_p50, "%.3f");
		seconds(f, ",", "p90", r->rtt_p90, "%.3f");
		seconds(f, ",", "p99", r->rtt_p99, "%.3f");
		fprintf(f, "},\"probes\":{\"sent\":%d,\"answered\":%d},\"packets\":{\"direct_bytes\":%llu,\"relay_bytes\":%llu,"
			   "\"direct_bytes_ipv4\":%llu,\"direct_bytes_ipv6\":%llu}",
			r->probes_sent, r->probes_answered, (unsigned long long)r->direct_bytes, (unsigned long long)r->relay_bytes,
			(unsigned long long)(r->direct_bytes - (r->direct_bytes_ipv6 < r->direct_bytes ? r->direct_bytes_ipv6 : r->direct_bytes)),
			(unsigned long long)r->direct_bytes_ipv6);
		if (r->n_portmaps) {
			fprintf(f, ",\"port_mappings\":[");
			for (int k = 0; k < r->n_portmaps; k++) {
				const struct run_portmap *pm = &r->portmaps[k];
				char offers[32], by[32];
				field(f, k ? ",{" : "{", "router", pm->router);
				fprintf(f, ",\"offers\":\"%s\",\"granted\":%d,\"by\":\"%s\"}",
					nat_portmap_name(pm->offers, offers, sizeof(offers)), pm->granted,
					nat_portmap_name(pm->by, by, sizeof(by)));
			}
			fprintf(f, "]");
		}
		if (r->sc.lifecycle[0]) {
			const struct lifecycle_result *l = &r->lc;
			field(f, ",\"lifecycle\":{", "name", r->sc.lifecycle);
			fprintf(f, ",\"happened\":%s,\"event_at_s\":%.2f,\"quiet_s\":%.0f,\"watch_s\":%.0f,\"sent_after\":%d,"
				   "\"lost_after\":%d",
				l->happened ? "true" : "false", l->event_at_s, l->quiet_s, l->watch_s, l->sent_after, l->lost_after);
			seconds(f, ",", "first_reply_s", l->first_reply_s, "%.2f");
			seconds(f, ",", "relay_s", l->relay_s, "%.2f");
			seconds(f, ",", "direct_s", l->direct_s, "%.2f");
			fprintf(f, ",\"path_after\":\"%s\",\"pairs\":%d,\"pairs_connected\":%d,\"handshakes\":%d,"
				   "\"path_changes\":%d,\"changes\":[",
				path_name(l->path_after), l->pairs, l->pairs_connected, l->handshakes, l->path_changes);
			for (int c = 0; c < l->n_changes && c < LC_MAX_CHANGES; c++)
				fprintf(f, "%s{\"at_s\":%.2f,\"path\":\"%s\"}", c ? "," : "", l->changes[c].at_s,
					path_name(l->changes[c].path));
			fprintf(f, "]}");
		}
		fprintf(f, ",\"tool_said_path\":\"%s\",\"disagreement\":%s,\"disagrees_with_expect\":%s,\"as_expected\":%s,\"wall_s\":%.2f",
			r->tool_said_path == PATH_UNKNOWN ? "" : path_name(r->tool_said_path), runner_disagrees(r) ? "true" : "false",
			runner_expect_wrong(r) ? "true" : "false", runner_as_expected(r) ? "true" : "false", r->wall_s);
		field(f, ",", "not_direct_because", runner_short_word(runner_short_of_direct(r)));
		field(f, ",", "kept_run", r->kept_run);
		field(f, ",", "error", r->error);
		fprintf(f, "}%s\n", i + 1 < n ? "," : "");
	}
	fprintf(f, "],\n\"time_to_direct\":[");
	{
		struct ttd_summary t[16];
		int nt = runner_ttd_summary(res, n, t, 16);
		for (int k = 0; k < nt; k++) {
			field(f, k ? ",\n{" : "\n{", "technique", t[k].technique);
			fprintf(f, ",\"n\":%d", t[k].n);
			seconds(f, ",", "p50_s", t[k].p50, "%.3f");
			seconds(f, ",", "p90_s", t[k].p90, "%.3f");
			seconds(f, ",", "p99_s", t[k].p99, "%.3f");
			if (t[k].n_reg) {
				fprintf(f, ",\"from_registration\":{\"n\":%d", t[k].n_reg);
				seconds(f, ",", "p50_s", t[k].reg_p50, "%.3f");
				seconds(f, ",", "p90_s", t[k].reg_p90, "%.3f");
				seconds(f, ",", "p99_s", t[k].reg_p99, "%.3f");
				fputc('}', f);
			}
			fputc('}', f);
		}
	}
	fprintf(f, "]}\n");
	return text_close_written(f);
}

/* Reading back. */

static json_object *get(json_object *o, const char *key, json_type want)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, want))
		return NULL;
	return v;
}

/* A string field into buf ("" when absent or not a string). */
static bool str(json_object *o, const char *key, char *buf, size_t len)
{
	json_object *v = get(o, key, json_type_string);

	snprintf(buf, len, "%s", v ? json_object_get_string(v) : "");
	return v != NULL;
}

/* A number field; null, absent or not a number: dflt. */
static double num(json_object *o, const char *key, double dflt)
{
	json_object *v;
	double d;

	if (!o || !json_object_object_get_ex(o, key, &v))
		return dflt;
	if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
		return dflt;
	d = json_object_get_double(v);
	return d == d && d > -1e12 && d < 1e12 ? d : dflt;   /* no NaN, nothing absurd */
}

static int integer(json_object *o, const char *key, int dflt)
{
	double d = num(o, key, dflt);

	return d >= -1e9 && d <= 1e9 ? (int)d : dflt;
}

static bool boolean(json_object *o, const char *key, bool dflt)
{
	json_object *v = get(o, key, json_type_boolean);

	return v ? json_object_get_boolean(v) : dflt;
}

static int one_scenario(json_object *s, int i, struct scenario_result *r, char *err, size_t errlen)
{
	static const char *const needed[] = { "topology", "a", "b", "outcome", "path" };
	json_object *rtt = get(s, "rtt_ms", json_type_object), *probes = get(s, "probes", json_type_object),
		    *packets = get(s, "packets", json_type_object), *lc = get(s, "lifecycle", json_type_object), *changes, *pmaps;
	char outcome[16], p[16];

	if (!json_object_is_type(s, json_type_object))
		return text_fail(err, errlen, NULL, 0, "scenario %d is not an object", i + 1);
	for (size_t k = 0; k < sizeof(needed) / sizeof(needed[0]); k++)
		if (!get(s, needed[k], json_type_string))
			return text_fail(err, errlen, NULL, 0, "scenario %d has no \"%s\" string", i + 1, needed[k]);
	memset(r, 0, sizeof(*r));
	str(s, "tool", r->sc.tool, sizeof(r->sc.tool));
	str(s, "tool_version", r->tool_version, sizeof(r->tool_version));
	str(s, "topology", r->sc.topology, sizeof(r->sc.topology));
	str(s, "a", r->sc.a, sizeof(r->sc.a));
	str(s, "b", r->sc.b, sizeof(r->sc.b));
	str(s, "c", r->sc.c, sizeof(r->sc.c));
	r->sc.repeat = integer(s, "repeat", 0);
	r->ran = boolean(s, "ran", true);
	str(s, "outcome", outcome, sizeof(outcome));
	r->connected = !strcmp(outcome, "connected");
	str(s, "path", p, sizeof(p));
	r->path = path_parse(p);
	str(s, "expected_path", p, sizeof(p));
	r->expected_direct = !strcmp(p, "direct");
	str(s, "expected_technique", r->expected_technique, sizeof(r->expected_technique));
	str(s, "expected_family", p, sizeof(p));
	r->expected_ipv6_only = !strcmp(p, "ipv6");
	str(s, "expected_reason", r->expected_reason, sizeof(r->expected_reason));
	r->time_to_first_reply_s = num(s, "time_to_first_reply_s", -1);
	r->time_to_direct_s = num(s, "time_to_direct_s", -1);
	r->time_to_direct_reg_s = num(s, "time_to_direct_from_registration_s", -1);
	r->rtt_p50 = num(rtt, "p50", -1);
	r->rtt_p90 = num(rtt, "p90", -1);
	r->rtt_p99 = num(rtt, "p99", -1);
	r->probes_sent = integer(probes, "sent", 0);
	r->probes_answered = integer(probes, "answered", 0);
	r->direct_bytes = (uint64_t)(num(packets, "direct_bytes", 0) > 0 ? num(packets, "direct_bytes", 0) : 0);
	r->relay_bytes = (uint64_t)(num(packets, "relay_bytes", 0) > 0 ? num(packets, "relay_bytes", 0) : 0);
	r->direct_bytes_ipv6 = (uint64_t)(num(packets, "direct_bytes_ipv6", 0) > 0 ? num(packets, "direct_bytes_ipv6", 0) : 0);
	if ((pmaps = get(s, "port_mappings", json_type_array))) {
		size_t k = json_object_array_length(pmaps);
		for (size_t m = 0; m < k && r->n_portmaps < RUN_MAX_PORTMAPS; m++) {
			json_object *o = json_object_array_get_idx(pmaps, m);
			struct run_portmap *pm = &r->portmaps[r->n_portmaps];
			char offers[64], by[64];
			if (!json_object_is_type(o, json_type_object) || !str(o, "router", pm->router, sizeof(pm->router)) ||
			    !str(o, "offers", offers, sizeof(offers)) || !str(o, "by", by, sizeof(by)) ||
			    !nat_portmap_parse(offers, &pm->offers) || !nat_portmap_parse(by, &pm->by))
				return text_fail(err, errlen, NULL, 0,
						 "scenario %d: a port mapping is not {router, offers, granted, by} with portmap words",
						 i + 1);
			pm->granted = integer(o, "granted", 0);
			r->n_portmaps++;
		}
	}
	if (lc) {
		struct lifecycle_result *l = &r->lc;
		if (!str(lc, "name", r->sc.lifecycle, sizeof(r->sc.lifecycle)) || !r->sc.lifecycle[0])
			return text_fail(err, errlen, NULL, 0, "scenario %d: its \"lifecycle\" has no name", i + 1);
		l->happened = boolean(lc, "happened", false);
		l->event_at_s = num(lc, "event_at_s", 0);
		l->quiet_s = num(lc, "quiet_s", -1);   /* older files: the scenario's own */
		l->watch_s = num(lc, "watch_s", -1);
		l->sent_after = integer(lc, "sent_after", 0);
		l->lost_after = integer(lc, "lost_after", 0);
		l->first_reply_s = num(lc, "first_reply_s", -1);
		l->relay_s = num(lc, "relay_s", -1);
		l->direct_s = num(lc, "direct_s", -1);
		str(lc, "path_after", p, sizeof(p));
		l->path_after = path_parse(p);
		l->pairs = integer(lc, "pairs", 0);
		l->pairs_connected = integer(lc, "pairs_connected", 0);
		l->handshakes = integer(lc, "handshakes", 0);
		l->path_changes = integer(lc, "path_changes", 0);
		if ((changes = get(lc, "changes", json_type_array))) {
			size_t k = json_object_array_length(changes);
			for (size_t c = 0; c < k && l->n_changes < LC_MAX_CHANGES; c++) {
				json_object *ch = json_object_array_get_idx(changes, c);
				if (!json_object_is_type(ch, json_type_object))
					return text_fail(err, errlen, NULL, 0, "scenario %d: a lifecycle change is not an object", i + 1);
				str(ch, "path", p, sizeof(p));
				l->changes[l->n_changes].at_s = num(ch, "at_s", 0);
				l->changes[l->n_changes++].path = path_parse(p);
			}
		}
	}
	str(s, "tool_said_path", p, sizeof(p));
	r->tool_said_path = p[0] ? path_parse(p) : PATH_UNKNOWN;
	r->wall_s = num(s, "wall_s", 0);
	str(s, "kept_run", r->kept_run, sizeof(r->kept_run));
	str(s, "error", r->error, sizeof(r->error));
	return 0;
}

int runner_parse_results(const char *text, size_t len, struct run_set *out, char *err, size_t errlen)
{
	json_tokener *tok = json_tokener_new_ex(16);
	json_object *root, *head, *list;
	enum json_tokener_error je;
	int ret = 0, n;

	memset(out, 0, sizeof(*out));
	if (!tok)
		return text_fail(err, errlen, NULL, 0, "out of memory");
	if (len > (size_t)64 << 20) {
		json_tokener_free(tok);
		return text_fail(err, errlen, NULL, 0, "over 64 MiB: not a results.json");
	}
	root = json_tokener_parse_ex(tok, text, (int)len);
	je = json_tokener_get_error(tok);
	if (!root || je != json_tokener_success) {
		ret = text_fail(err, errlen, NULL, 0, "not JSON (%s, at byte %zu)",
			   je == json_tokener_continue ? "it ends too soon" : json_tokener_error_desc(je),
			   json_tokener_get_parse_end(tok));
		json_tokener_free(tok);
		json_object_put(root);
		return ret;
	}
	for (size_t at = json_tokener_get_parse_end(tok); at < len; at++)
		if (!strchr(" \t\r\n", text[at])) {
			ret = text_fail(err, errlen, NULL, 0, "more than one JSON value (something follows at byte %zu)", at);
			break;
		}
	json_tokener_free(tok);
	if (!ret && !(list = get(root, "scenarios", json_type_array)))
		ret = text_fail(err, errlen, NULL, 0, "not a results.json of punchlab run (no \"scenarios\" list)");
	if (ret) {
		json_object_put(root);
		return ret;
	}
	n = (int)json_object_array_length(list);
	if (n > RUNNER_MAX_SCENARIOS) {
		json_object_put(root);
		return text_fail(err, errlen, NULL, 0, "%d scenarios: a run has at most %d", n, RUNNER_MAX_SCENARIOS);
	}
	out->res = calloc(n ? (size_t)n : 1, sizeof(*out->res));
	if (!out->res) {
		json_object_put(root);
		return text_fail(err, errlen, NULL, 0, "out of memory");
	}
	for (int i = 0; i < n && !ret; i++)
		ret = one_scenario(json_object_array_get_idx(list, (size_t)i), i, &out->res[i], err, errlen);
	out->n = n;
	head = get(root, "header", json_type_object);
	str(head, "tool", out->info.tool, sizeof(out->info.tool));
	str(head, "tool_version", out->info.tool_version, sizeof(out->info.tool_version));
	{
		char transport[8];
		if (!ret && str(head, "transport", transport, sizeof(transport)) &&
		    adapter_parse_transport(transport, &out->info.tcp))
			ret = text_fail(err, errlen, NULL, 0, "its header's transport \"%s\" is not udp or tcp", transport);
	}
	str(head, "commit", out->info.commit, sizeof(out->info.commit));
	str(head, "kernel", out->info.kernel, sizeof(out->info.kernel));
	str(head, "host", out->info.host, sizeof(out->info.host));
	str(head, "command", out->info.command, sizeof(out->info.command));
	str(head, "baseline", out->info.baseline, sizeof(out->info.baseline));
	out->info.worse = integer(head, "worse_than_baseline", -1);
	out->info.wall_s = num(head, "wall_time_s", 0);
	{
		char shard[16];
		if (!ret && str(head, "shard", shard, sizeof(shard)) &&
		    !runner_shard_parse(shard, &out->info.shard, &out->info.shards))
			ret = text_fail(err, errlen, NULL, 0, "its header's shard \"%s\" is not I/N", shard);
	}
	if (!str(head, "date_utc", out->info.date, sizeof(out->info.date))) {
		/* older files: seconds since 1970 */
		double d = num(head, "date", -1);
		time_t t = (time_t)d;
		if (d > 0)
			strftime(out->info.date, sizeof(out->info.date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	}
	/* A header without a tool (a hand-made baseline): the scenarios' own. */
	if (!out->info.tool[0] && n)
		snprintf(out->info.tool, sizeof(out->info.tool), "%s", out->res[0].sc.tool);
	if (!out->info.tool_version[0] && n)
		snprintf(out->info.tool_version, sizeof(out->info.tool_version), "%s", out->res[0].tool_version);
	json_object_put(root);
	if (ret) {
		runner_free_results(out);
		return ret;
	}
	return 0;
}

int runner_read_results(const char *path, struct run_set *out, char *err, size_t errlen)
{
	char *text = NULL, why[200];
	size_t len;
	int ret;

	memset(out, 0, sizeof(*out));
	if ((ret = text_read_file(path, 64 << 20, &text, &len))) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(-ret));
		return ret;
	}
	ret = runner_parse_results(text, len, out, why, sizeof(why));
	free(text);
	if (ret)
		snprintf(err, errlen, "%s: %s", path, why);
	else
		snprintf(out->info.source, sizeof(out->info.source), "%s", path);
	return ret;
}

void runner_free_results(struct run_set *set)
{
	free(set->res);
	set->res = NULL;
	set->n = 0;
}

int runner_read_run(const char *run, struct run_set *out, char *err, size_t errlen)
{
	char path[PATH_MAX + 16];
	struct stat st;

	if (!stat(run, &st) && S_ISDIR(st.st_mode))
		snprintf(path, sizeof(path), "%s/results.json", run);
	else
		snprintf(path, sizeof(path), "%s", run);
	return runner_read_results(path, out, err, errlen);
}
