/* libFuzzer: what punchlab run reads that others wrote. The input is a
 * --baseline file (an earlier results.json, or anything a person passes
 * for one), compared with a fixed set of results through the real
 * runner_baseline_check; and, line by line, an adapter's output as the ref
 * adapter reads it (`punchlab-agent status --json`: text_json_field for
 * the keys it looks up). Nothing may crash, and every cell named worse
 * must be one of the results. */
#include "runner/runner.h"
#include "util/text.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static unsigned long reached_lines, reached_fields, reached_worse;

static void report(void)
{
	fprintf(stderr, "fuzz_runner_input reached: %lu lines, %lu fields found, %lu cells worse\n", reached_lines,
		reached_fields, reached_worse);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct scenario_result res[3];
	static bool ready;
	static const char *const keys[] = { "path", "introducer", "mesh_ipv4", "name", "rtt_ms", "technique", "why" };
	char path[64], *text, *save = NULL, out[8192];
	FILE *o;
	int fd, worse;

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
	/* The baseline, as a file (runner_baseline_check reads a path). */
	fd = memfd_create("baseline", MFD_CLOEXEC);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	o = fmemopen(out, sizeof(out), "w");
	if (!o)
		abort();
	worse = runner_baseline_check(path, res, 3, o);
	fclose(o);
	close(fd);
	if (worse < 0 || worse > 1000000)
		abort();
	reached_worse += (unsigned long)worse;
	/* The adapter's lines. */
	if (!(text = malloc(size + 1)))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char v[64];
		reached_lines++;
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			if (text_json_field(line, keys[k], v, sizeof(v))) {
				if (strlen(v) >= sizeof(v))
					abort();
				reached_fields++;
			}
	}
	free(text);
	return 0;
}
