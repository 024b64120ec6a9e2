#include "netns.h"
#include "proc.h"

#include <dirent.h>
#include <stdlib.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int netns_path(const char *name, char *buf, size_t len)
{
	if (!name[0] || strchr(name, '/') || strlen(name) > 200)
		return -EINVAL;
	snprintf(buf, len, "%s/%s", NETNS_DIR, name);
	return 0;
}

/* As iproute2: /run/netns is a shared mount so that namespaces made here are
 * seen by processes in other mount namespaces (ip netns exec). */
static int netns_dir_prepare(void)
{
	if (mkdir(NETNS_DIR, 0755) && errno != EEXIST)
		return -errno;
	if (mount("", NETNS_DIR, "none", MS_SHARED | MS_REC, NULL) == 0)
		return 0;
	if (errno != EINVAL)
		return -errno;
	if (mount(NETNS_DIR, NETNS_DIR, "none", MS_BIND | MS_REC, NULL))
		return -errno;
	if (mount("", NETNS_DIR, "none", MS_SHARED | MS_REC, NULL))
		return -errno;
	return 0;
}

int netns_create(const char *name)
{
	char path[PATH_MAX];
	int fd, ret, status;
	pid_t pid;

	if ((ret = netns_path(name, path, sizeof(path))))
		return ret;
	if ((ret = netns_dir_prepare()))
		return ret;
	fd = open(path, O_RDONLY | O_CREAT | O_EXCL, 0);
	if (fd < 0)
		return -errno;
	close(fd);
	/* A child unshares and pins its new namespace on the file; this process
	 * keeps its own. */
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		unlink(path);
		return ret;
	}
	if (pid == 0) {
		if (unshare(CLONE_NEWNET))
			_exit(1);
		if (mount("/proc/self/ns/net", path, "none", MS_BIND, NULL))
			_exit(2);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		unlink(path);
		return -EIO;
	}
	return 0;
}

int netns_delete(const char *name)
{
	char path[PATH_MAX];
	int ret;

	if ((ret = netns_path(name, path, sizeof(path))))
		return ret;
	if (umount2(path, MNT_DETACH) && errno != EINVAL && errno != ENOENT)
		return -errno;
	if (unlink(path))
		return -errno;
	return 0;
}

int netns_open(const char *name)
{
	char path[PATH_MAX];
	int fd, ret;

	if ((ret = netns_path(name, path, sizeof(path))))
		return ret;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int netns_enter(const char *name)
{
	int fd = netns_open(name), ret = 0;

	if (fd < 0)
		return fd;
	if (setns(fd, CLONE_NEWNET))
		ret = -errno;
	close(fd);
	return ret;
}

int netns_call(const char *name, int (*fn)(void *), void *arg)
{
	int self, ret;

	if (!name)
		return fn(arg); /* the namespace we are in */
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return -errno;
	ret = netns_enter(name);
	if (ret == 0) {
		ret = fn(arg);
		if (setns(self, CLONE_NEWNET) && ret == 0)
			ret = -errno;
	}
	close(self);
	return ret;
}

struct sysctl_arg {
	const char *path, *value;
};

static int sysctl_write(void *p)
{
	struct sysctl_arg *a = p;
	char file[PATH_MAX];
	ssize_t len = (ssize_t)strlen(a->value);
	int fd, ret = 0;

	snprintf(file, sizeof(file), "/proc/sys/%s", a->path);
	for (char *c = file + 10; *c; c++)
		if (*c == '.')
			*c = '/';
	fd = open(file, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, a->value, (size_t)len) != len)
		ret = -errno ? -errno : -EIO;
	close(fd);
	return ret;
}

int netns_sysctl(const char *name, const char *path, const char *value)
{
	struct sysctl_arg a = { path, value };

	return netns_call(name, sysctl_write, &a);
}

int netns_pids(const char *const names[], int n, int *pids, int max)
{
	struct stat want[16], st;
	struct dirent *de;
	int k = 0, found = 0;
	DIR *d;

	for (int i = 0; i < n && k < 16; i++) {
		char path[PATH_MAX];
		if (netns_path(names[i], path, sizeof(path)) == 0 && stat(path, &want[k]) == 0)
			k++;
	}
	if (!k || !(d = opendir("/proc")))
		return 0;
	while ((de = readdir(d)) && found < max) {
		char path[64];
		pid_t pid = (pid_t)atoi(de->d_name);

		if (pid <= 0 || pid == getpid() || !proc_alive(pid))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
		if (stat(path, &st))
			continue;
		for (int i = 0; i < k; i++)
			if (st.st_ino == want[i].st_ino && st.st_dev == want[i].st_dev) {
				pids[found++] = pid;
				break;
			}
	}
	closedir(d);
	return found;
}
