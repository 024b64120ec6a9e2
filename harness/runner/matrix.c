/* Many scenarios, `jobs` at a time, each in a process of its own (each in
 * its own namespaces), with a progress line. */
#include "runner.h"

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

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void scenario_dir(const struct runner_opts *o, const struct scenario *sc, char *buf, size_t len)
{
	snprintf(buf, len, "%s/scenarios/%s-%s-%s%s%.0d", o->outdir, sc->topology, sc->a[0] ? sc->a : "-",
		 sc->b[0] ? sc->b : "-", sc->repeat ? "-" : "", sc->repeat);
}

static void progress(const struct runner_opts *o, int done, int n, int ok, int bad, double t0)
{
	double el = now_s() - t0, eta = done ? el / done * (n - done) : 0;

	if (!o->progress)
		return;
	fprintf(stderr, "\r%d/%d scenarios, %d as expected, %d not; %.0f s elapsed, about %.0f s left   ", done, n, ok, bad,
		el, eta);
	if (done == n)
		fputc('\n', stderr);
}

static bool as_expected(const struct scenario_result *r)
{
	return r->connected && (!r->expected_direct || !strcmp(r->path, "direct"));
}

void runner_all(const struct scenario *sc, int n, const struct runner_opts *o, struct scenario_result *res)
{
	pid_t pids[RUNNER_MAX_SCENARIOS];
	int fds[RUNNER_MAX_SCENARIOS], next = 0, running = 0, done = 0, ok = 0, bad = 0;
	int jobs = o->jobs < 1 ? 1 : o->jobs;
	double t0 = now_s();

	for (int i = 0; i < n; i++)
		pids[i] = -1;
	progress(o, 0, n, 0, 0, t0);
	while (next < n || running > 0) {
		while (next < n && running < jobs) {
			int p[2];
			char dir[400];
			if (pipe2(p, O_CLOEXEC)) {
				snprintf(res[next].error, sizeof(res[next].error), "pipe: %s", strerror(errno));
				res[next].sc = sc[next];
				next++;
				continue;
			}
			scenario_dir(o, &sc[next], dir, sizeof(dir));
			fflush(NULL);
			pids[next] = fork();
			if (pids[next] == 0) {
				static struct scenario_result one;
				close(p[0]);
				runner_scenario(&sc[next], o, dir, &one);
				if (write(p[1], &one, sizeof(one)) != (ssize_t)sizeof(one))
					_exit(1);
				_exit(0);
			}
			close(p[1]);
			fds[next] = p[0];
			if (pids[next] < 0) {
				close(fds[next]);
				res[next].sc = sc[next];
				snprintf(res[next].error, sizeof(res[next].error), "fork: %s", strerror(errno));
			} else {
				running++;
			}
			next++;
		}
		for (int i = 0; i < next; i++) {
			struct pollfd pf = { .fd = fds[i], .events = POLLIN };
			int status;
			if (pids[i] <= 0 || poll(&pf, 1, 0) != 1)
				continue;
			if (read(fds[i], &res[i], sizeof(res[i])) != (ssize_t)sizeof(res[i])) {
				memset(&res[i], 0, sizeof(res[i]));
				res[i].sc = sc[i];
				snprintf(res[i].path, sizeof(res[i].path), "none");
				snprintf(res[i].error, sizeof(res[i].error), "the worker for this scenario died");
			}
			close(fds[i]);
			waitpid(pids[i], &status, 0);
			pids[i] = -1;
			running--;
			done++;
			if (as_expected(&res[i]))
				ok++;
			else
				bad++;
			progress(o, done, n, ok, bad, t0);
		}
		if (running > 0)
			usleep(20000);
	}
}
