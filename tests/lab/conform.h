/* Lab tests of punchlab conform: a subject (a model, a ruleset, a router
 * command) checked end to end, then its verdicts held row by row. */
#ifndef PL_LAB_CONFORM_H
#define PL_LAB_CONFORM_H

#include "lab.h"

#include "conform/check.h"
#include "util/paths.h"

/* tests/data/conform/NAME */
static inline const char *conform_data(const char *name)
{
	static char path[4][PATH_MAX];
	static int k;
	char dir[PATH_MAX - 64];

	k = (k + 1) % 4;
	assert_int_equal(paths_data_dir("tests/data/conform", dir, sizeof(dir)), 0);
	snprintf(path[k], sizeof(path[k]), "%s/%s", dir, name);
	return path[k];
}

/* Check a subject (report freed by the caller); the table goes to the test
 * log, so a failure shows every verdict with its evidence. */
static inline struct conform_report *conform_subject_timed(const char *model, const struct natcheck_opts *o,
							    const struct conform_timing *timing)
{
	struct conform_report *rep = calloc(1, sizeof(*rep));

	assert_non_null(rep);
	conform_check(model, o, timing, rep);
	if (rep->check.error)
		fail_msg("%s: %s", rep->check.model, rep->check.detail);
	conform_print(rep->check.model, rep->rows, rep->n_rows, stdout);
	fflush(stdout);
	return rep;
}

static inline struct conform_report *conform_subject(const char *model, const struct natcheck_opts *o)
{
	return conform_subject_timed(model, o, NULL);
}

/* Every id in the NULL-ended list has verdict v. */
static inline void conform_expect(const struct conform_report *rep, enum conform_verdict v, const char *const ids[])
{
	for (int i = 0; ids[i]; i++) {
		const struct conform_row *r = conform_find(rep->rows, rep->n_rows, ids[i]);

		if (!r)
			fail_msg("%s: no row %s", rep->check.model, ids[i]);
		if (r->verdict != v)
			fail_msg("%s: %s is %d, expected %d (%s)", rep->check.model, ids[i], r->verdict, v, r->evidence);
	}
}

#endif
