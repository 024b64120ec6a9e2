#include "proc.h"
#include "netns.h"
#include "timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
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
	pid_t p = fork_into(netns, out_fd, err_fd);

	if (p < 0)
		return -errno;
	if (p == 0) {
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
