#include "proc.h"
#include "netns.h"
#include "timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void child_setup(const char *netns, int out_fd, int err_fd)
{
	/* Children must not inherit the harness's signal mask or handlers. */
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	if (netns && netns_enter(netns)) {
		fprintf(stderr, "punchlab: cannot enter namespace %s\n", netns);
		_exit(127);
	}
	if (out_fd >= 0 && out_fd != 1)
		dup2(out_fd, 1);
	if (err_fd >= 0 && err_fd != 2)
		dup2(err_fd, 2);
}

/* fork with the child set up; returns 0 in the child, the pid in the parent. */
static pid_t fork_into(const char *netns, int out_fd, int err_fd)
{
	pid_t p;

	fflush(NULL);
	p = fork();
	if (p == 0)
		child_setup(netns, out_fd, err_fd);
	return p;
}

int proc_spawn(const char *netns, char *const argv[], int out_fd, int err_fd, pid_t *pid)
{
	return proc_spawn_env(netns, argv, NULL, out_fd, err_fd, pid);
}

int proc_spawn_env(const char *netns, char *const argv[], char *const env[], int out_fd, int err_fd, pid_t *pid)
{
	pid_t p = fork_into(netns, out_fd, err_fd);

	if (p < 0)
		return -errno;
	if (p == 0) {
		for (int i = 0; env && env[i]; i++)
			if (putenv(env[i])) {
				fprintf(stderr, "punchlab: cannot set %s: %s\n", env[i], strerror(errno));
				_exit(127);
			}
		/* a path runs as it is (a script without "#!" is refused, not
		 * handed to a shell); a bare name is looked up in PATH */
		if (strchr(argv[0], '/'))
			execv(argv[0], argv);
		else
			execvp(argv[0], argv);
		fprintf(stderr, "punchlab: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	*pid = p;
	return 0;
}

int proc_fork_call(const char *netns, int (*fn)(void *), void *arg, pid_t *pid)
{
	pid_t p = fork_into(netns, -1, -1);

	if (p < 0)
		return -errno;
	if (p == 0) {
		int ret = fn(arg);
		fflush(NULL);
		_exit(ret == 0 ? 0 : 1);
	}
	*pid = p;
	return 0;
}

int proc_fork_ready(const char *netns, int (*fn)(void *arg, int ready_fd), void *arg, pid_t *pid, int timeout_ms)
{
	struct pollfd pf;
	int fds[2], ret = 0;
	pid_t p;
	char c;

	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	p = fork_into(netns, -1, -1);
	if (p < 0) {
		ret = -errno;
		close(fds[0]);
		close(fds[1]);
		return ret;
	}
	if (p == 0) {
		close(fds[0]);
		ret = fn(arg, fds[1]);
		fflush(NULL);
		_exit(ret == 0 ? 0 : 1);
	}
	close(fds[1]);
	*pid = p;
	pf = (struct pollfd){ fds[0], POLLIN, 0 };
	if (!(poll(&pf, 1, timeout_ms) == 1 && read(fds[0], &c, 1) == 1))
		ret = -ETIMEDOUT;
	close(fds[0]);
	return ret;
}

static int status_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 255;
}

int proc_wait(pid_t pid, int *code)
{
	int status;

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	if (code)
		*code = status_code(status);
	return 0;
}

int proc_wait_timeout(pid_t pid, int timeout_ms, int *code)
{
	uint64_t end = time_now_ms() + (uint64_t)timeout_ms;
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid) {
			if (code)
				*code = status_code(status);
			return 0;
		}
		if (r < 0 && errno != EINTR)
			return -errno;
		if (time_now_ms() >= end)
			return -ETIMEDOUT;
		time_sleep_ms(10);
	}
}

int proc_alive(pid_t pid)
{
	char path[64], buf[512];
	FILE *f;
	int alive = 0;

	if (pid <= 0)
		return 0;
	if (kill(pid, 0) && errno == ESRCH)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f)) {
		char *p = strrchr(buf, ')');
		alive = !(p && p[1] == ' ' && p[2] == 'Z');
	}
	fclose(f);
	return alive;
}

void proc_stop(pid_t pid, int grace_ms)
{
	int code;

	if (pid <= 0)
		return;
	if (kill(pid, SIGTERM) && errno == ESRCH) {
		waitpid(pid, NULL, WNOHANG);
		return;
	}
	if (proc_wait_timeout(pid, grace_ms, &code) == 0)
		return;
	/* Not our child (ECHILD) or still running: poll liveness, then kill. */
	for (int waited = 0; waited < grace_ms && proc_alive(pid); waited += 10)
		time_sleep_ms(10);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

int proc_run(const char *netns, char *const argv[], int out_fd, int err_fd)
{
	pid_t pid = -1;
	int ret, code;

	if ((ret = proc_spawn(netns, argv, out_fd, err_fd, &pid)))
		return ret;
	if ((ret = proc_wait(pid, &code)))
		return ret;
	return code;
}

int proc_capture(const char *netns, char *const argv[], bool with_stderr, char *buf, size_t len)
{
	int fds[2], ret, code = -1;
	size_t got = 0;
	pid_t pid = -1;

	if (len == 0 || pipe2(fds, O_CLOEXEC))
		return -EINVAL;
	ret = proc_spawn(netns, argv, fds[1], with_stderr ? fds[1] : -1, &pid);
	close(fds[1]);
	if (ret) {
		close(fds[0]);
		return ret;
	}
	/* Read to the end (what does not fit is read and dropped), so the
	 * child never blocks on a full pipe. */
	for (;;) {
		char scratch[4096];
		ssize_t n = got + 1 < len ? read(fds[0], buf + got, len - 1 - got) : read(fds[0], scratch, sizeof(scratch));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (got + 1 < len)
			got += (size_t)n;
	}
	buf[got] = '\0';
	close(fds[0]);
	if ((ret = proc_wait(pid, &code)))
		return ret;
	return code;
}

int proc_capture_for(const char *netns, char *const argv[], char *const env[], int err_fd, char *buf, size_t len,
		     int timeout_ms)
{
	double until = time_now_s() + timeout_ms / 1000.0;
	int fds[2], ret, code = -1, null = -1;
	bool exited = false;
	size_t got = 0;
	pid_t pid = -1;

	if (len == 0)
		return -EINVAL;
	buf[0] = '\0';
	/* only our end reads without blocking: the program's writes block */
	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	if (fcntl(fds[0], F_SETFL, O_NONBLOCK)) {
		ret = -errno;
		close(fds[0]);
		close(fds[1]);
		return ret;
	}
	if (err_fd == PROC_ERR_TO_NULL && (null = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0) {
		close(fds[0]);
		close(fds[1]);
		return -errno;
	}
	ret = proc_spawn_env(netns, argv, env, fds[1],
			     err_fd == PROC_ERR_TO_OUT ? fds[1] : err_fd == PROC_ERR_TO_NULL ? null : err_fd, &pid);
	close(fds[1]);
	if (null >= 0)
		close(null);
	if (ret) {
		close(fds[0]);
		return ret;
	}
	/* Read while it runs (what does not fit is dropped); once it has
	 * exited, what is left in the pipe, and no more: a child of its own
	 * that keeps the pipe open is not waited for. */
	for (bool eof = false;;) {
		struct pollfd pf = { fds[0], POLLIN, 0 };
		char scratch[4096];
		ssize_t n = -1;
		int left;

		/* a bounded pass: a program that never stops writing is still
		 * cut off at its limit */
		for (int reads = 0; !eof && reads < 64; reads++) {
			n = got + 1 < len ? read(fds[0], buf + got, len - 1 - got) : read(fds[0], scratch, sizeof(scratch));
			if (n <= 0)
				break;
			if (got + 1 < len)
				got += (size_t)n;
		}
		eof = eof || n == 0;
		if (exited)
			break;
		if (proc_wait_timeout(pid, 0, &code) == 0) {
			exited = true;   /* one more pass drains the pipe */
			continue;
		}
		if ((left = (int)((until - time_now_s()) * 1000)) <= 0)
			break;
		if (eof)
			exited = proc_wait_timeout(pid, left < 20 ? left : 20, &code) == 0;
		else
			poll(&pf, 1, left < 20 ? left : 20);
	}
	buf[got] = '\0';
	close(fds[0]);
	if (!exited) {
		kill(pid, SIGKILL);
		proc_wait(pid, &code);
		return -ETIMEDOUT;
	}
	return code;
}

void proc_pool(int n, int jobs, size_t size, void *results, bool *failed, void (*work)(int i, void *out, void *ctx),
	       void (*done)(int i, void *ctx), void *ctx)
{
	pid_t *pids = calloc((size_t)n + 1, sizeof(*pids));
	int *fds = calloc((size_t)n + 1, sizeof(*fds)), next = 0, running = 0;
	uint8_t *res = results;

	if (!pids || !fds) {
		for (int i = 0; i < n; i++)
			failed[i] = true;
		goto out;
	}
	if (jobs < 1)
		jobs = 1;
	while (next < n || running > 0) {
		while (next < n && running < jobs) {
			int p[2];
			failed[next] = false;
			memset(res + (size_t)next * size, 0, size);
			if (pipe2(p, O_CLOEXEC)) {
				failed[next++] = true;
				continue;
			}
			fflush(NULL);
			pids[next] = fork();
			if (pids[next] == 0) {
				void *one = calloc(1, size);
				close(p[0]);
				if (!one)
					_exit(1);
				work(next, one, ctx);
				for (size_t off = 0; off < size;) {
					ssize_t w = write(p[1], (uint8_t *)one + off, size - off);
					if (w <= 0)
						_exit(1);
					off += (size_t)w;
				}
				_exit(0);
			}
			close(p[1]);
			fds[next] = p[0];
			if (pids[next] < 0) {
				close(fds[next]);
				failed[next] = true;
				if (done)
					done(next, ctx);
			} else {
				running++;
			}
			next++;
		}
		/* Results are read as they come, so a full pipe never blocks a child. */
		for (int i = 0; i < next; i++) {
			struct pollfd pf = { .fd = fds[i], .events = POLLIN };
			size_t got = 0;
			int code;
			if (pids[i] <= 0 || poll(&pf, 1, 0) != 1)
				continue;
			while (got < size) {
				ssize_t r = read(fds[i], res + (size_t)i * size + got, size - got);
				if (r <= 0)
					break;
				got += (size_t)r;
			}
			if (got != size) {
				memset(res + (size_t)i * size, 0, size);
				failed[i] = true;
			}
			close(fds[i]);
			proc_wait(pids[i], &code);
			pids[i] = -1;
			running--;
			if (done)
				done(i, ctx);
		}
		if (running > 0)
			usleep(20000);
	}
out:
	free(pids);
	free(fds);
}

void proc_raise_fd_limit(void)
{
	struct rlimit r;

	if (!getrlimit(RLIMIT_NOFILE, &r) && r.rlim_cur < r.rlim_max) {
		r.rlim_cur = r.rlim_max;
		setrlimit(RLIMIT_NOFILE, &r);
	}
}
