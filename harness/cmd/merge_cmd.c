/* punchlab merge: the shards of one plan (`punchlab run --shard I/N`, run
 * on as many machines) joined into the files one run would have written. */
#include "cmd.h"
#include "../runner/runner.h"
#include "../../lib/util/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_SHARDS 256

static const char usage[] =
	"usage: punchlab merge --output DIR SHARD...\n"
	"\n"
	"Join the shards of one plan (each SHARD the folder `punchlab run --shard I/N`\n"
	"wrote, or its results.json; all N of them, in any order) into DIR's\n"
	"results.json, junit.xml and report.html, as the run without --shard would\n"
	"have written them: its scenarios in its order, the first shard's header,\n"
	"the longest shard's wall time. Each failed scenario's logs stay in its\n"
	"shard's folder; conformance (--conform) is not merged.\n"
	"  -o, --output DIR   where the merged files go (made if missing)\n"
	"Exit 0 when every scenario went as expected, 1 when one did not (as run\n"
	"does), 2 when a shard is missing, given twice, of another plan or cannot be\n"
	"read, 3 when DIR cannot be written.\n";

int cmd_merge(int argc, char **argv)
{
	static struct run_set sets[MAX_SHARDS];
	struct run_set merged;
	const char *output = NULL;
	char err[1200];
	int first = cmd_output_option(argc, argv, "merge", usage, &output), n = 0, ret = 0, bad = 0;

	if (first < 0)
		return first == -1 ? 0 : EXIT_USAGE;
	if (!output || first >= argc) {
		pl_err("merge: %s\n%s", output ? "name the shards (the folders punchlab run --shard wrote)" : "--output DIR is needed",
		       usage);
		return EXIT_USAGE;
	}
	if (argc - first > MAX_SHARDS) {
		pl_err("merge: %d shards named; at most %d", argc - first, MAX_SHARDS);
		return EXIT_USAGE;
	}
	for (int i = first; i < argc && !ret; i++) {
		if (runner_read_run(argv[i], &sets[n], err, sizeof(err))) {
			pl_err("merge: %s", err);
			ret = EXIT_USAGE;
		} else {
			n++;
		}
	}
	if (!ret && runner_merge(sets, n, output, &merged, err, sizeof(err))) {
		pl_err("merge: %s", err);
		ret = EXIT_USAGE;
	}
	for (int i = 0; i < n; i++)
		runner_free_results(&sets[i]);
	if (ret)
		return ret;
	if (mkdir(output, 0755) && errno != EEXIST) {
		pl_err("merge: cannot make %s: %s", output, strerror(errno));
		runner_free_results(&merged);
		return EXIT_FAIL;
	}
	if (runner_write_files(output, &merged, NULL, 0, err, sizeof(err))) {
		pl_err("merge: %s", err);
		runner_free_results(&merged);
		return EXIT_FAIL;
	}
	runner_print_matrix(stdout, merged.res, merged.n);
	for (int i = 0; i < merged.n; i++)
		bad += !runner_as_expected(&merged.res[i]);
	printf("%d shards merged: %d of %d scenarios as expected; %s/report.html\n", n, merged.n - bad, merged.n, output);
	runner_free_results(&merged);
	return bad ? EXIT_MISMATCH : 0;
}
