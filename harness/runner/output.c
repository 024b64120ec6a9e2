/* What a matrix run leaves behind: its folder (results/<date-time>/ unless
 * given), the conformance of its models when asked, results.json,
 * junit.xml, report.html, and each failed scenario's files. */
#include "runner.h"
#include "../conform/check.h"
#include "../../lib/util/paths.h"
#include "../../lib/util/text.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int runner_make_outdir(char *outdir, size_t len, time_t started, char *err, size_t errlen)
{
	char path[600];

	if (!outdir[0]) {
		char base[400], stamp[32];
		strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", localtime(&started));
		if (paths_data_dir("results", base, sizeof(base)))
			snprintf(base, sizeof(base), "results");
		snprintf(outdir, len, "%s/%s", base, stamp);
	}
	mkdir(outdir, 0755);
	snprintf(path, sizeof(path), "%s/scenarios", outdir);
	if (mkdir(path, 0755) && errno != EEXIST) {
		snprintf(err, errlen, "cannot make %s: %s", path, strerror(errno));
		return -errno;
	}
	return 0;
}

int runner_conform(char names[][NAT_MODEL_NAME_MAX], int k, int jobs, const char *outdir, struct conform_report **out,
		   const struct conform_report *conf[])
{
	struct conform_report *reps = calloc((size_t)k, sizeof(*reps));
	struct natcheck_opts no = { 0 };
	char *models[RUNNER_MAX_MODELS] = { 0 }, path[600];
	FILE *f;

	*out = reps;
	if (!reps)
		return -ENOMEM;
	for (int i = 0; i < k; i++)
		models[i] = names[i];
	conform_check_many(models, k, jobs, &no, NULL, reps);
	for (int i = 0; i < k; i++) {
		const struct conform_report *r = &reps[i];
		int musts = 0;

		conf[i] = r;
		if (r->check.error) {
			printf("conformance of %s: ERROR: %s\n", names[i], r->check.detail);
			continue;
		}
		for (int j = 0; j < r->n_rows; j++)
			musts += r->rows[j].level == CONFORM_MUST && r->rows[j].verdict == CONFORM_FAIL;
		printf("conformance of %s: %d MUST%s failed\n", r->check.model, musts, musts == 1 ? "" : "s");
	}
	snprintf(path, sizeof(path), "%s/conformance.json", outdir);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	conform_print_json_all(conf, k, f);
	return fclose(f) ? -errno : 0;
}

/* The first failure to write is the one said. */
static void first_error(int r, const char *path, int *ret, char *err, size_t errlen)
{
	if (r && !*ret) {
		*ret = r;
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(-r));
	}
}

int runner_write_results(const struct runner_opts *o, const struct run_set *set, const struct conform_report *const conf[],
			 int n_conf, char *err, size_t errlen)
{
	const struct scenario_result *res = set->res;
	int n = set->n;
	char path[600];
	int ret = 0;

	for (int i = 0; i < n && !ret; i++) {
		if (!runner_as_expected(&res[i]))
			continue; /* logs and packets are kept for failures only */
		runner_scenario_dir(o, &res[i].sc, path, sizeof(path));
		if (paths_remove_tree(path)) {
			ret = -errno;
			snprintf(err, errlen, "cannot remove %s: %s", path, strerror(errno));
		}
	}
	{
		/* written all the same; a failed removal is the error said */
		char later[300];
		int w = runner_write_files(o->outdir, set, conf, n_conf, ret ? later : err, ret ? sizeof(later) : errlen);
		return ret ? ret : w;
	}
}

int runner_write_files(const char *outdir, const struct run_set *set, const struct conform_report *const conf[], int n_conf,
		       char *err, size_t errlen)
{
	char path[600];
	int ret = 0;

	snprintf(path, sizeof(path), "%s/results.json", outdir);
	first_error(runner_write_json(path, &set->info, set->res, set->n), path, &ret, err, errlen);
	snprintf(path, sizeof(path), "%s/junit.xml", outdir);
	first_error(runner_write_junit(path, set->res, set->n, set->info.wall_s), path, &ret, err, errlen);
	snprintf(path, sizeof(path), "%s/report.html", outdir);
	first_error(runner_write_html(path, set, 1, conf, n_conf), path, &ret, err, errlen);
	return ret;
}
