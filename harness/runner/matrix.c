/* Many scenarios, `jobs` at a time, each in a process of its own (each in
 * its own namespaces), with a progress line. */
#include "runner.h"
#include "../../lib/util/timeutil.h"
#include "../../lib/util/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern const struct runner_tool runner_tool_ref, runner_tool_wgstatic, runner_tool_nebula, runner_tool_tinc;

const struct runner_tool *const runner_tools[] = { &runner_tool_ref, &runner_tool_wgstatic, &runner_tool_nebula, &runner_tool_tinc, NULL };

const struct runner_tool *runner_tool_find(const char *name)
{
	for (int i = 0; runner_tools[i]; i++)
		if (!strcmp(runner_tools[i]->name, name))
			return runner_tools[i];
	return NULL;
}

/* A model for a directory name: a path's slashes become '_'. */
static const char *dir_word(const char *model, char *buf, size_t len)
{
	snprintf(buf, len, "%s", model[0] ? model : "-");
	for (char *p = buf; *p; p++)
		if (*p == '/')
			*p = '_';
	return buf;
}

void runner_scenario_dir(const struct runner_opts *o, const struct scenario *sc, char *buf, size_t len)
{
	char a[sizeof(sc->a)], b[sizeof(sc->b)];

	if (sc->lifecycle[0])
		snprintf(buf, len, "%s/scenarios/%s%s%.0d", o->outdir, sc->lifecycle, sc->repeat ? "-" : "", sc->repeat);
	else
		snprintf(buf, len, "%s/scenarios/%s-%s-%s%s%.0d", o->outdir, sc->topology, dir_word(sc->a, a, sizeof(a)),
			 dir_word(sc->b, b, sizeof(b)), sc->repeat ? "-" : "", sc->repeat);
}

static void progress(const struct runner_opts *o, int done, int n, int ok, int bad, double t0)
{
	double el = time_now_s() - t0, eta = done ? el / done * (n - done) : 0;

	if (!o->progress)
		return;
	fprintf(stderr, "\r%d/%d scenarios, %d as expected, %d not; %.0f s elapsed, about %.0f s left   ", done, n, ok, bad,
		el, eta);
	if (done == n)
		fputc('\n', stderr);
}

bool runner_as_expected(const struct scenario_result *r)
{
	return r->connected && (!r->expected_direct || r->path == PATH_DIRECT) && r->lc.pairs_connected == r->lc.pairs;
}

bool runner_disagrees(const struct scenario_result *r)
{
	return r->connected && r->tool_said_path != PATH_UNKNOWN && r->tool_said_path != r->path;
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
