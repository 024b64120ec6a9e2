/* libFuzzer: what punchlab run and punchlab report read that others
 * wrote. The input is a results.json (a --baseline, or a run given to
 * `punchlab report`, or anything a person passes for one) through the real
 * reader; when it reads, it is compared with a fixed set of results
 * through runner_baseline_check and drawn as a page (runner_write_html,
 * beside the fixed set); and, line by line, it is what an adapter prints
 * (docs/adapters.md): a start line, for the relay and for a peer, and a
 * path line. Nothing may crash, a file refused says why, a line refused
 * says what was expected, and every cell named worse must be one of the
 * results. */
#include "runner/runner.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long reached_lines, reached_fields, reached_worse, reached_read, reached_refused, reached_tunnel;

static void report(void)
{
	fprintf(stderr,
		"fuzz_runner_input reached: %lu files read, %lu refused, %lu lines, %lu lines read (%lu tunnel lines), %lu cells worse\n",
		reached_read, reached_refused, reached_lines, reached_fields, reached_tunnel, reached_worse);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct scenario_result res[3];
	static bool ready;
	char err[256] = "", *text, *save = NULL, out[8192];
	struct run_set set;
	FILE *o;
	int worse;

	if (!ready) {
		static const char *const models[3][2] = { { "symmetric", "symmetric" },
							  { "full-cone", "symmetric" },
							  { "full-cone", "full-cone" } };
		for (int i = 0; i < 3; i++) {
			snprintf(res[i].sc.topology, sizeof(res[i].sc.topology), "two-sites");
			snprintf(res[i].sc.a, sizeof(res[i].sc.a), "%s", models[i][0]);
			snprintf(res[i].sc.b, sizeof(res[i].sc.b), "%s", models[i][1]);
			res[i].connected = i > 0;
			res[i].path = i == 2 ? PATH_DIRECT : PATH_RELAY;
			res[i].time_to_first_reply_s = 0.5 * i;
		}
		atexit(report);
		ready = true;
	}
	/* The results file, read; compared as a baseline; drawn. */
	if (runner_parse_results((const char *)data, size, &set, err, sizeof(err))) {
		if (!err[0] || set.res)
			abort();   /* refused without a word, or with its memory kept */
		reached_refused++;
	} else {
		struct run_set both[2] = { { .res = res, .n = 3 }, set };
		reached_read++;
		o = fmemopen(out, sizeof(out), "w");
		if (!o)
			abort();
		worse = runner_baseline_check(&set, res, 3, o);
		fclose(o);
		if (worse < 0 || worse > set.n)
			abort();
		reached_worse += (unsigned long)worse;
		if (runner_write_html("/dev/null", both, 2, NULL, 0))
			abort();
		runner_free_results(&set);
	}
	/* An adapter's lines. */
	if (!(text = malloc(size + 1)))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char why[200];
		uint32_t addr = 0;
		uint16_t port = 0;
		enum path path = PATH_NONE;
		bool settled;
		reached_lines++;
		for (int relay = 0; relay < 2; relay++) {
			why[0] = '\0';
			if (adapter_parse_line(line, relay, &addr, &port, why, sizeof(why))) {
				if (!why[0])
					abort();   /* refused without a word */
			} else {
				reached_fields++;
				if (!relay && !addr)
					abort();
				reached_tunnel += !relay;
			}
		}
		if (adapter_parse_path(line, &path, &settled) == 0) {
			if (path != PATH_DIRECT && path != PATH_RELAY && path != PATH_UNKNOWN)
				abort();
			reached_fields++;
		} else if (settled) {
			abort();
		}
	}
	free(text);
	return 0;
}
