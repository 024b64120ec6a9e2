/* The job pool: many scenarios, `jobs` at a time, each in a process of its
 * own (each in its own namespaces), with a progress line. */
#include "runner.h"
#include "../../lib/util/timeutil.h"
#include "../../lib/util/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* On a terminal one line, rewritten; in a log a line each time a
 * scenario ends. */
static void progress(const struct runner_opts *o, int done, int n, int ok, int bad, double t0)
{
	double el = time_now_s() - t0, eta = done ? el / done * (n - done) : 0;
	bool tty = isatty(STDERR_FILENO);
	char left[48] = "";

	if (!o->progress || (!tty && done == 0))
		return;
	if (done > 0 && done < n)
		snprintf(left, sizeof(left), ", about %d s left", eta < 1 ? 1 : (int)ceil(eta));
	fprintf(stderr, "%s%d/%d scenario%s, %d as expected, %d not; %.0f s elapsed%s%s", tty ? "\r" : "", done, n,
		n == 1 ? "" : "s", ok, bad, el, left, tty && done < n ? "   " : "\n");
}

struct all_ctx {
	const struct scenario *sc;
	const struct runner_opts *o;
	struct scenario_result *res;
	bool *failed;
	int n, done, ok, bad;
	double t0;
};

static void run_one(int i, void *out, void *ctx)
{
	struct all_ctx *a = ctx;
	char dir[400];

	runner_scenario_dir(a->o, &a->sc[i], dir, sizeof(dir));
	runner_scenario(&a->sc[i], a->o, dir, out);
}

static void one_done(int i, void *ctx)
{
	struct all_ctx *a = ctx;
	struct scenario_result *r = &a->res[i];

	if (a->failed[i]) {
		r->sc = a->sc[i];
		r->path = PATH_NONE;
		snprintf(r->error, sizeof(r->error), "the worker for this scenario died");
	}
	a->done++;
	if (runner_as_expected(r))
		a->ok++;
	else
		a->bad++;
	progress(a->o, a->done, a->n, a->ok, a->bad, a->t0);
}

void runner_all(const struct scenario *sc, int n, const struct runner_opts *o, struct scenario_result *res)
{
	static bool failed[RUNNER_MAX_SCENARIOS];
	struct all_ctx a = { sc, o, res, failed, n, 0, 0, 0, time_now_s() };

	progress(o, 0, n, 0, 0, a.t0);
	proc_pool(n, o->jobs, sizeof(*res), res, failed, run_one, one_done, &a);
}
