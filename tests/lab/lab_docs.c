/* Every shell block of the README and of the .md files in docs/ (a fence opened with
 * ```sh) runs as written, one test each, unless a line of it says
 * "# not run" (and why). A block runs in bash with -e, as root, in a
 * scratch folder that holds the checkout's files (links) and a results/ of
 * its own, inside a network namespace and a /run of its own: whatever it
 * brings up (lab instances, agents, TUN devices, sockets) is nobody
 * else's and cannot meet anybody else's. Afterwards every lab instance it
 * left is taken down and every process in its namespace ended, and the
 * folder removed. */
/* limit: 400 s */
#include "lab.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>

#include "util/paths.h"

#define BLOCK_LIMIT_S 150   /* the longest block runs about a minute */
#define MAX_BLOCKS 64

struct block {
	char name[128];    /* FILE:LINE, where its fence opens */
	char *text;
};

static struct block blocks[MAX_BLOCKS];
static int n_blocks;
static char root[PATH_MAX];

/* The checkout: the test binary is ROOT/build/asan/tests/lab_docs. */
static void find_root(void)
{
	ssize_t n = readlink("/proc/self/exe", root, sizeof(root) - 1);

	assert_true(n > 0);
	root[n] = '\0';
	for (int up = 0; up < 4; up++)
		*strrchr(root, '/') = '\0';
}

/* The ```sh blocks of one file (relative to the root). */
static void collect(const char *file)
{
	char path[PATH_MAX], *text = NULL, *cur = NULL;
	size_t len, used = 0;
	int line = 0, opened = 0;

	snprintf(path, sizeof(path), "%s/%s", root, file);
	assert_int_equal(text_read_file(path, 1 << 20, &text, &len), 0);
	for (char *l = text, *nl; l < text + len; l = nl + 1) {
		nl = strchr(l, '\n');
		if (!nl)
			nl = text + len;
		*nl = '\0';
		line++;
		if (!cur) {
			if (!strcmp(l, "```sh") || !strcmp(l, "```bash")) {
				cur = calloc(1, len + 1);   /* a block is never longer than its file */
				assert_non_null(cur);
				used = 0;
				opened = line;
			}
			continue;
		}
		if (!strcmp(l, "```")) {
			if (!strstr(cur, "# not run") && n_blocks < MAX_BLOCKS) {
				snprintf(blocks[n_blocks].name, sizeof(blocks[0].name), "%s:%d", file, opened);
				blocks[n_blocks++].text = cur;
			} else {
				free(cur);
			}
			cur = NULL;
			continue;
		}
		used += (size_t)sprintf(cur + used, "%s\n", l);
	}
	assert_null(cur);   /* every fence closed */
	free(text);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void collect_all(void)
{
	char dir[PATH_MAX], *names[64];
	struct dirent *e;
	DIR *d;
	int n = 0;

	collect("README.md");
	snprintf(dir, sizeof(dir), "%s/docs", root);
	d = opendir(dir);
	assert_non_null(d);
	while ((e = readdir(d)) && n < 64) {
		size_t l = strlen(e->d_name);
		if (l > 3 && !strcmp(e->d_name + l - 3, ".md")) {
			names[n] = malloc(l + 6);
			snprintf(names[n++], l + 6, "docs/%s", e->d_name);
		}
	}
	closedir(d);
	qsort(names, (size_t)n, sizeof(names[0]), by_name);
	for (int i = 0; i < n; i++) {
		collect(names[i]);
		free(names[i]);
	}
}

/* The scratch folder: a link to each of the checkout's entries (not
 * results/, nor what git keeps), a results/ of its own with a link to the
 * committed reference results in it (blocks read them, never write). */
static void make_scratch(char *dir, size_t len)
{
	char from[PATH_MAX], to[PATH_MAX];
	struct dirent *e;
	DIR *d;

	snprintf(dir, len, "/tmp/pl-docs-XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0755), 0);
	d = opendir(root);
	assert_non_null(d);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || !strcmp(e->d_name, "results"))
			continue;
		snprintf(from, sizeof(from), "%s/%s", root, e->d_name);
		snprintf(to, sizeof(to), "%s/%s", dir, e->d_name);
		assert_int_equal(symlink(from, to), 0);
	}
	closedir(d);
	snprintf(to, sizeof(to), "%s/results", dir);
	assert_int_equal(mkdir(to, 0755), 0);
	snprintf(from, sizeof(from), "%s/results/reference", root);
	snprintf(to, sizeof(to), "%s/results/reference", dir);
	assert_int_equal(symlink(from, to), 0);
}

/* The inode of a process's network namespace (0: gone). */
static ino_t netns_of(pid_t pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	return stat(path, &st) ? 0 : st.st_ino;
}

/* End every process in network namespace NS but this one; returns how many
 * were still there. */
static int end_all_in(ino_t ns, int sig)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (*end || pid <= 1 || pid == getpid() || netns_of((pid_t)pid) != ns)
			continue;
		kill((pid_t)pid, sig);
		n++;
	}
	closedir(d);
	return n;
}

static pid_t spawn(char *const argv[], const char *log)
{
	pid_t pid = fork();

	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY), out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		setpgid(0, 0);
		dup2(in, 0);
		dup2(out, 1);
		dup2(out, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* Wait for pid up to limit_s; its exit status, or -1 after killing its
 * group when it took too long. */
static int wait_for(pid_t pid, int limit_s)
{
	time_t until = time(NULL) + limit_s;
	int status;

	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (time(NULL) >= until) {
			kill(-pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		usleep(50 * 1000);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* In the child: a namespace and a /run of its own, the block, then
 * everything it left taken down. Exits with the block's status (124: it
 * ran past its limit; 125: the sandbox could not be made; 126: it left
 * something that would not end). */
static void run_sandboxed(const char *dir, const char *script, const char *log)
{
	char punchlab[PATH_MAX + 16], home[PATH_MAX + 16];
	int status, left = 0;
	ino_t ns;

	if (unshare(CLONE_NEWNS | CLONE_NEWNET) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") || chdir(dir))
		_exit(125);
	ns = netns_of(getpid());
	snprintf(home, sizeof(home), "%s", dir);
	setenv("PUNCHLAB_HOME", home, 1);
	status = wait_for(spawn((char *const[]){ "/bin/bash", (char *)script, NULL }, log), BLOCK_LIMIT_S);
	/* Its lab instances, then anything else still in its namespace
	 * (processes it put in the background, daemons that detached). */
	snprintf(punchlab, sizeof(punchlab), "%s/build/punchlab", root);
	wait_for(spawn((char *const[]){ punchlab, "topo", "down", "--all", NULL }, log), 60);
	for (int i = 0; i < 50 && end_all_in(ns, i < 30 ? SIGTERM : SIGKILL); i++)
		usleep(100 * 1000);
	left = end_all_in(ns, SIGKILL);
	_exit(left ? 126 : status < 0 ? 124 : status);
}

static void a_docs_block_runs_as_written(void **state)
{
	const struct block *b = *state;
	char dir[64], script[PATH_MAX], log[PATH_MAX], *out = NULL;
	size_t len;
	pid_t pid;
	int status, fd;

	make_scratch(dir, sizeof(dir));
	snprintf(script, sizeof(script), "%s/.block.sh", dir);
	snprintf(log, sizeof(log), "%s/.block.log", dir);
	fd = open(script, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	dprintf(fd, "# %s\nset -e\ntrap 'echo \"%s: this line failed (exit $?): $BASH_COMMAND\" >&2' ERR\n", b->name,
		b->name);
	/* The tests run as root; a machine without sudo runs the line as is. */
	dprintf(fd, "command -v sudo >/dev/null || sudo() { \"$@\"; }\n%s", b->text);
	close(fd);
	printf("# %s\n%s", b->name, b->text);
	fflush(stdout);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		run_sandboxed(dir, script, log);
	waitpid(pid, &status, 0);
	status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (text_read_file(log, 1 << 20, &out, &len) == 0) {
		printf("--- its output:\n%s---\n", out);
		free(out);
	}
	paths_remove_tree(dir);
	if (status == 124)
		fail_msg("%s ran past %d s", b->name, BLOCK_LIMIT_S);
	if (status == 125)
		fail_msg("%s: cannot make a namespace and a /run of its own", b->name);
	if (status == 126)
		fail_msg("%s left processes that would not end", b->name);
	if (status != 0)
		fail_msg("%s exited %d", b->name, status);
}

int main(void)
{
	static struct CMUnitTest tests[MAX_BLOCKS];

	find_root();
	collect_all();
	for (int i = 0; i < n_blocks; i++)
		tests[i] = (struct CMUnitTest){ blocks[i].name, a_docs_block_runs_as_written, NULL, NULL, &blocks[i] };
	return _cmocka_run_group_tests("docs", tests, (size_t)n_blocks, NULL, NULL);
}
