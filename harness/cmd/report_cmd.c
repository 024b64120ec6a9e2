/* punchlab report: report.html from one or more runs, side by side. */
#include "cmd.h"
#include "../runner/runner.h"
#include "../../lib/util/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RUNS 16

static const char usage[] =
	"usage: punchlab report [--output FILE] RUN...\n"
	"\n"
	"Draw the page of one or more runs of `punchlab run`, side by side: each RUN\n"
	"is the folder a run wrote (its results.json is read) or a results.json.\n"
	"The page: a headline per run (as expected or not, worse than its baseline),\n"
	"what ran and where, the runs' cells side by side, each run's matrix, the\n"
	"pairs not direct where expect allows (by the technique they need, or for\n"
	"no reason expect knows), every scenario, time to direct per technique,\n"
	"lifecycle timelines.\n"
	"  -o, --output FILE   where the page goes (default: report.html here)\n"
	"Exit 0 when the page is written, 2 when a RUN cannot be read (the message\n"
	"says which and why), 3 when the page cannot be written. A run's\n"
	"conformance section is only in the report.html the run itself wrote.\n";

int cmd_report(int argc, char **argv)
{
	struct run_set sets[MAX_RUNS];
	const char *output = "report.html";
	char err[900];
	int first = cmd_output_option(argc, argv, "report", usage, &output), n = 0, ret = 0, total = 0;

	if (first < 0)
		return first == -1 ? 0 : EXIT_USAGE;
	if (first >= argc) {
		pl_err("report: name at least one run (a folder punchlab run wrote, or its results.json)\n%s", usage);
		return EXIT_USAGE;
	}
	if (argc - first > MAX_RUNS) {
		pl_err("report: %d runs named; a page takes at most %d", argc - first, MAX_RUNS);
		return EXIT_USAGE;
	}
	for (int i = first; i < argc; i++) {
		if (runner_read_run(argv[i], &sets[n], err, sizeof(err))) {
			pl_err("report: %s", err);
			ret = EXIT_USAGE;
			break;
		}
		total += sets[n++].n;
	}
	if (!ret && (ret = runner_write_html(output, sets, n, NULL, 0))) {
		pl_err("report: cannot write %s: %s", output, strerror(-ret));
		ret = EXIT_FAIL;
	}
	if (!ret)
		printf("%s: %d run%s, %d scenarios\n", output, n, n == 1 ? "" : "s", total);
	for (int i = 0; i < n; i++)
		runner_free_results(&sets[i]);
	return ret;
}
