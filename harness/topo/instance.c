#include "instance.h"
#include "../../lib/util/log.h"
#include "../../lib/util/netns.h"
#include "../../lib/util/paths.h"
#include "../../lib/util/proc.h"
#include "../../lib/util/timeutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

unsigned long long instance_proc_start(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "r")))
		return 0;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')'))) {
		/* Field 22 (starttime); p points at the end of field 2. */
		int field = 2;
		for (; *p && field < 22; p++)
			if (*p == ' ')
				field++;
		start = strtoull(p, NULL, 10);
		if (p[-1] != ' ')
			start = 0;
	}
	fclose(f);
	return start;
}

static bool same_process(pid_t pid, unsigned long long start)
{
	return pid > 0 && proc_alive(pid) && instance_proc_start(pid) == start;
}

void instance_netns_name(const char *id, const char *node, char *buf, size_t len)
{
	snprintf(buf, len, "pl-%s-%s", id, node);
}

static int state_append(struct instance *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int state_append(struct instance *r, const char *fmt, ...)
{
	char path[160], line[256];
	va_list ap;
	int fd, n, ret = 0;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/state", r->dir);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, line, (size_t)n) != n)
		ret = -EIO;
	fsync(fd);
	close(fd);
	return ret;
}

int instance_create(struct instance *r, const char *topology, const char *params)
{
	uint8_t rnd[3];
	int ret;

	memset(r, 0, sizeof(*r));
	if (mkdir("/run/punchlab", 0755) && errno != EEXIST)
		return -errno;
	for (int tries = 0; tries < 16; tries++) {
		if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
			return -EIO;
		snprintf(r->id, sizeof(r->id), "%02x%02x%02x", rnd[0], rnd[1], rnd[2]);
		snprintf(r->dir, sizeof(r->dir), "%s/%s", PL_STATE_DIR, r->id);
		if (mkdir(r->dir, 0755) == 0)
			break;
		if (errno != EEXIST)
			return -errno;
		r->id[0] = '\0';
	}
	if (!r->id[0])
		return -EEXIST;
	r->owner = getpid();
	r->owner_start = instance_proc_start(r->owner);
	r->created = (long)time(NULL);
	snprintf(r->topology, sizeof(r->topology), "%s", topology);
	snprintf(r->params, sizeof(r->params), "%s", params);
	ret = state_append(r, "owner %d %llu\ntopology %s\nparams %s\ncreated %ld\n", (int)r->owner,
			   r->owner_start, topology, params[0] ? params : "-", r->created);
	return ret;
}

int instance_set_owner(struct instance *r, pid_t owner)
{
	r->owner = owner;
	r->owner_start = instance_proc_start(owner);
	return state_append(r, "owner %d %llu\n", (int)owner, r->owner_start);
}

int instance_note_netns(struct instance *r, const char *ns)
{
	if (r->n_netns < INSTANCE_MAX_NETNS)
		snprintf(r->netns[r->n_netns++], sizeof(r->netns[0]), "%s", ns);
	return state_append(r, "netns %s\n", ns);
}

int instance_note_pid(struct instance *r, pid_t pid)
{
	unsigned long long start = instance_proc_start(pid);

	if (r->n_pids < INSTANCE_MAX_PIDS) {
		r->pids[r->n_pids] = pid;
		r->pid_start[r->n_pids++] = start;
	}
	return state_append(r, "pid %d %llu\n", (int)pid, start);
}

/* A recorded command: DIR/cmd-PID-START, "uid gid\ncwd\n" then argv, each
 * argument ended by a NUL. Written by the process that started PID (root),
 * read by `fault restart`; the started process cannot change it. */
static void command_path(const struct instance *r, pid_t pid, unsigned long long start, char *buf, size_t len)
{
	snprintf(buf, len, "%s/cmd-%d-%llu", r->dir, (int)pid, start);
}

int instance_note_command(struct instance *r, pid_t pid, char *const argv[])
{
	char cwd[PATH_MAX];

	if (!getcwd(cwd, sizeof(cwd)))
		return -errno;
	return instance_note_started(r, pid, argv, getuid(), getgid(), cwd);
}

int instance_note_started(struct instance *r, pid_t pid, char *const argv[], unsigned uid, unsigned gid, const char *cwd)
{
	unsigned long long start = instance_proc_start(pid);
	char path[160];
	FILE *f;
	int ret = instance_note_pid(r, pid);

	if (ret)
		return ret;
	command_path(r, pid, start, path, sizeof(path));
	if (!(f = fopen(path, "w")))
		return -errno;
	fprintf(f, "%u %u\n%s\n", uid, gid, cwd);
	for (int i = 0; argv[i]; i++)
		fwrite(argv[i], 1, strlen(argv[i]) + 1, f);
	return fclose(f) ? -errno : 0;
}

int instance_command(const struct instance *r, pid_t pid, struct instance_command *c)
{
	unsigned long long start = instance_proc_start(pid);
	char path[160], *p, *end;
	size_t n;
	FILE *f;
	int argc = 0;

	memset(c, 0, sizeof(*c));
	if (!start)
		return -ESRCH;
	command_path(r, pid, start, path, sizeof(path));
	if (!(f = fopen(path, "r")))
		return -ENOENT;
	n = fread(c->buf, 1, sizeof(c->buf) - 1, f);
	fclose(f);
	c->buf[n] = '\0';
	end = c->buf + n;
	if (sscanf(c->buf, "%u %u", &c->uid, &c->gid) != 2 || !(p = memchr(c->buf, '\n', n)))
		return -EINVAL;
	c->cwd = p + 1;
	if (!(p = memchr(c->cwd, '\n', (size_t)(end - c->cwd))))
		return -EINVAL;
	*p++ = '\0';
	for (; p < end && argc < INSTANCE_MAX_ARGS; p += strlen(p) + 1)
		c->argv[argc++] = p;
	c->argv[argc] = NULL;
	return argc ? 0 : -EINVAL;
}

int instance_note_forwarder(struct instance *r, const char *node, pid_t pid)
{
	unsigned long long start = instance_proc_start(pid);
	int ret = instance_note_pid(r, pid);

	if (ret)
		return ret;
	if (r->n_links < 8) {
		snprintf(r->link_node[r->n_links], sizeof(r->link_node[0]), "%s", node);
		r->link_pid[r->n_links] = pid;
		r->link_start[r->n_links++] = start;
	}
	return state_append(r, "forwarder %s %d %llu\n", node, (int)pid, start);
}

int instance_dead_links(const struct instance *r, char *names, size_t len)
{
	size_t off = 0;
	int n = 0;

	if (len)
		names[0] = '\0';
	for (int i = 0; i < r->n_links; i++)
		if (!same_process(r->link_pid[i], r->link_start[i])) {
			if (off < len)
				off += (size_t)snprintf(names + off, len - off, "%s%s", n ? " " : "", r->link_node[i]);
			n++;
		}
	return n;
}

/* Router NODE's public address is ADDR now (its entry, or a new one);
 * false when all four are taken by other routers. */
static bool renumber_set(struct instance *r, const char *node, uint32_t addr)
{
	int i;

	for (i = 0; i < r->n_renumbered && strcmp(r->renumbered[i], node); i++)
		;
	if (i == 4)
		return false;
	snprintf(r->renumbered[i], sizeof(r->renumbered[i]), "%s", node);
	r->renumbered_addr[i] = addr;
	if (i == r->n_renumbered)
		r->n_renumbered++;
	return true;
}

int instance_note_renumber(struct instance *r, const char *node, uint32_t addr)
{
	if (!renumber_set(r, node, addr))
		return -ENOSPC;
	return state_append(r, "renumber %s %u\n", node, addr);
}

/* Host NODE sits on SEGMENT with address ADDR now (as renumber_set). */
static void roam_set(struct instance *r, const char *node, const char *segment, uint32_t addr)
{
	int i;

	for (i = 0; i < r->n_roamed && strcmp(r->roamed[i], node); i++)
		;
	if (i == 4)
		return;
	snprintf(r->roamed[i], sizeof(r->roamed[i]), "%s", node);
	snprintf(r->roamed_to[i], sizeof(r->roamed_to[i]), "%s", segment);
	r->roamed_addr[i] = addr;
	if (i == r->n_roamed)
		r->n_roamed++;
}

int instance_note_roam(struct instance *r, const char *node, const char *segment, uint32_t addr)
{
	roam_set(r, node, segment, addr);
	return state_append(r, "roam %s %s %u\n", node, segment, addr);
}

static bool valid_id(const char *id)
{
	if (strlen(id) != INSTANCE_ID_LEN)
		return false;
	for (; *id; id++)
		if (!((*id >= '0' && *id <= '9') || (*id >= 'a' && *id <= 'f')))
			return false;
	return true;
}

int instance_load(const char *id, struct instance *r)
{
	char path[160], line[256], prefix[16];
	FILE *f;

	memset(r, 0, sizeof(*r));
	if (!valid_id(id))
		return -ENOENT;
	snprintf(r->id, sizeof(r->id), "%s", id);
	snprintf(r->dir, sizeof(r->dir), "%s/%s", PL_STATE_DIR, id);
	snprintf(path, sizeof(path), "%s/state", r->dir);
	if (!(f = fopen(path, "r"))) {
		struct stat st;
		/* A run being created has its directory before its state: it
		 * counts as created when its directory was, so a concurrent
		 * reaper leaves it alone for a while. */
		if (stat(r->dir, &st))
			return -ENOENT;
		r->created = (long)st.st_mtime;
		return 0;
	}
	snprintf(prefix, sizeof(prefix), "pl-%s-", id);
	while (fgets(line, sizeof(line), f)) {
		int pid;
		unsigned long long start;
		char word[64], seg[32];

		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "owner %d %llu", &pid, &start) == 2) {
			r->owner = pid;
			r->owner_start = start;
		} else if (strncmp(line, "topology ", 9) == 0) {
			snprintf(r->topology, sizeof(r->topology), "%s", line + 9);
		} else if (strncmp(line, "params ", 7) == 0) {
			snprintf(r->params, sizeof(r->params), "%s", strcmp(line + 7, "-") ? line + 7 : "");
		} else if (strncmp(line, "created ", 8) == 0) {
			r->created = strtol(line + 8, NULL, 10);
		} else if (sscanf(line, "netns %63s", word) == 1) {
			/* Only names of this run's own form are ever removed. */
			if (strncmp(word, prefix, strlen(prefix)) == 0 && r->n_netns < INSTANCE_MAX_NETNS)
				snprintf(r->netns[r->n_netns++], sizeof(r->netns[0]), "%s", word);
		} else if (sscanf(line, "renumber %15s %llu", word, &start) == 2) {
			renumber_set(r, word, (uint32_t)start);
		} else if (sscanf(line, "roam %15s %31s %llu", word, seg, &start) == 3) {
			roam_set(r, word, seg, (uint32_t)start);
		} else if (sscanf(line, "forwarder %31s %d %llu", word, &pid, &start) == 3) {
			if (r->n_links < 8) {
				snprintf(r->link_node[r->n_links], sizeof(r->link_node[0]), "%s", word);
				r->link_pid[r->n_links] = pid;
				r->link_start[r->n_links++] = start;
			}
		} else if (sscanf(line, "pid %d %llu", &pid, &start) == 2 && r->n_pids < INSTANCE_MAX_PIDS) {
			r->pids[r->n_pids] = pid;
			r->pid_start[r->n_pids++] = start;
		}
	}
	fclose(f);
	return 0;
}

bool instance_owner_alive(const struct instance *r)
{
	return same_process(r->owner, r->owner_start);
}

/* Processes whose network namespace is one of ours: what was started in
 * them (daemons, `topo exec` shells) would keep the namespace alive. They
 * get SIGTERM first (to clean up after themselves, e.g. a UAPI socket),
 * then SIGKILL. Returns how many were found. */
static int signal_in_netns(const struct instance *r, int sig)
{
	const char *names[INSTANCE_MAX_NETNS];
	int pids[1024], n;

	for (int i = 0; i < r->n_netns; i++)
		names[i] = r->netns[i];
	n = netns_pids(names, r->n_netns, pids, 1024);
	for (int i = 0; i < n; i++)
		kill(pids[i], sig);
	return n;
}

static void kill_in_netns(const struct instance *r)
{
	if (!signal_in_netns(r, SIGTERM))
		return;
	signal_in_netns(r, SIGCONT);   /* a stopped one (fault sleep) acts on it only once continued */
	for (int waited = 0; waited < 1000; waited += 20) {
		time_sleep_ms(20);
		if (!signal_in_netns(r, 0))
			return;
	}
	signal_in_netns(r, SIGKILL);
}

int instance_destroy(const char *id)
{
	struct instance r;
	char path[160];
	int ret, lock;

	if ((ret = instance_load(id, &r)))
		return ret;
	snprintf(path, sizeof(path), "%s/lock", r.dir);
	lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lock >= 0)
		flock(lock, LOCK_EX);
	for (int i = 0; i < r.n_pids; i++)
		if (same_process(r.pids[i], r.pid_start[i]))
			proc_stop(r.pids[i], 500);
	kill_in_netns(&r);
	for (int i = 0; i < r.n_netns; i++) {
		ret = netns_delete(r.netns[i]);
		if (ret && ret != -ENOENT)
			pl_err("run %s: cannot remove namespace %s: %s", id, r.netns[i], strerror(-ret));
	}
	snprintf(path, sizeof(path), "%s/state", r.dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/lock", r.dir);
	unlink(path);
	if (lock >= 0)
		close(lock);
	/* Anything else a run keeps in its directory (logs) goes with it. */
	{
		DIR *d = opendir(r.dir);
		struct dirent *de;
		if (d) {
			while ((de = readdir(d)))
				if (de->d_name[0] != '.') {
					snprintf(path, sizeof(path), "%s/%s", r.dir, de->d_name);
					unlink(path);
				}
			closedir(d);
		}
	}
	rmdir(r.dir);
	return 0;
}

struct run_sort {
	char id[INSTANCE_ID_LEN + 1];
	long created;
};

static int cmp_created(const void *a, const void *b)
{
	const struct run_sort *x = a, *y = b;

	return x->created < y->created ? -1 : x->created > y->created ? 1 : strcmp(x->id, y->id);
}

int instance_list(char ids[][INSTANCE_ID_LEN + 1], int max)
{
	struct run_sort found[64];
	struct dirent *de;
	DIR *d = opendir(PL_STATE_DIR);
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) && n < 64) {
		struct instance r;
		if (!valid_id(de->d_name) || instance_load(de->d_name, &r))
			continue;
		snprintf(found[n].id, sizeof(found[n].id), "%s", de->d_name);
		found[n++].created = r.created;
	}
	closedir(d);
	qsort(found, (size_t)n, sizeof(found[0]), cmp_created);
	for (int i = 0; i < n && i < max; i++)
		snprintf(ids[i], INSTANCE_ID_LEN + 1, "%s", found[i].id);
	return n < max ? n : max;
}

int instance_reap_dead(void)
{
	char ids[64][INSTANCE_ID_LEN + 1];
	int n = instance_list(ids, 64), reaped = 0;

	for (int i = 0; i < n; i++) {
		struct instance r;
		if (instance_load(ids[i], &r) || instance_owner_alive(&r))
			continue;
		/* Give a run being created a moment: its owner line comes first. */
		if (r.owner == 0 && time(NULL) - r.created < 5)
			continue;
		pl_info("removing run %s: its owner (pid %d) is gone", ids[i], (int)r.owner);
		instance_destroy(ids[i]);
		reaped++;
	}
	return reaped;
}

int instance_pick(const char *id, struct instance *r, char *err, size_t errlen)
{
	char ids[64][INSTANCE_ID_LEN + 1];
	int n;

	if (id) {
		if (instance_load(id, r)) {
			snprintf(err, errlen, "no run \"%s\"; `punchlab topo list` shows the runs", id);
			return -ENOENT;
		}
		return 0;
	}
	n = instance_list(ids, 64);
	if (n == 0) {
		snprintf(err, errlen, "no run is up; start one with `punchlab topo up TOPOLOGY ...`");
		return -ENOENT;
	}
	if (n > 1) {
		size_t off = (size_t)snprintf(err, errlen, "%d runs are up; say which with --run ID:", n);
		for (int i = 0; i < n && off < errlen; i++)
			off += (size_t)snprintf(err + off, errlen - off, " %s", ids[i]);
		return -EINVAL;
	}
	return instance_load(ids[0], r);
}

static volatile sig_atomic_t stop_keeper;

static void on_stop(int sig)
{
	(void)sig;
	stop_keeper = 1;
}

/* The keeper owns a run left up: it waits to be told to go, then removes it. */
static void keeper_main(const char *id)
{
	struct sigaction sa;
	sigset_t none;
	int devnull = open("/dev/null", O_RDWR);

	setsid();
	if (devnull >= 0) {
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		close(devnull);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGHUP, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	while (!stop_keeper)
		pause();
	instance_destroy(id);
	_exit(0);
}

int instance_detach(struct instance *r)
{
	pid_t keeper;

	fflush(NULL);
	keeper = fork();
	if (keeper < 0)
		return -errno;
	if (keeper == 0)
		keeper_main(r->id);
	return instance_set_owner(r, keeper);
}
