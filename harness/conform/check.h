/* One conformance check end to end: the lab built with the model (or a
 * person's ruleset or router command), the STUN probe, the conformance
 * tests, the verdicts. */
#ifndef PL_CONFORM_CHECK_H
#define PL_CONFORM_CHECK_H

#include "conform.h"
#include "../natcheck/natcheck.h"

struct conform_report {
	struct natcheck_result check;   /* the probe's part; check.error: the lab failed */
	struct conform_obs obs;
	struct conform_row rows[CONFORM_MAX_ROWS];
	int n_rows;
};

/* Check MODEL (or opts' ruleset/router command); opts' extra is ours;
 * timing (NULL: none) the timeout tests. Fills rep (large: allocate it). */
void conform_check(const char *model, const struct natcheck_opts *opts, const struct conform_timing *timing,
		 struct conform_report *rep);

/* Check k models (each with opts), up to jobs at a time in child
 * processes; reps holds k reports. A worker that died leaves its report
 * with check.error set and the model's name. */
void conform_check_many(char *const models[], int k, int jobs, const struct natcheck_opts *opts,
		      const struct conform_timing *timing, struct conform_report *reps);

/* n reports as one JSON array (those whose lab failed left out). */
void conform_print_json_all(const struct conform_report *const reps[], int n, FILE *out);

#endif
