/* Runs through the command line, as a person uses them: topo up gives a
 * network, topo exec works inside it, topo down leaves nothing; two runs do
 * not collide; a run whose owner died is removed; nothing else is touched. */
#include "lab.h"

#include "util/proc.h"
#include "util/timeutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

static char ids_up[4][INSTANCE_ID_LEN + 1];
static char made_by_hand[2][64]; /* namespaces a test made itself */

/* Run punchlab with args; stdout into out (if given); returns the exit code. */
static void remember(const char *id)
{
	for (int i = 0; i < 4; i++)
		if (!ids_up[i][0]) {
			snprintf(ids_up[i], sizeof(ids_up[i]), "%s", id);
			return;
		}
}

/* Teardown: whatever a failed test left up goes. */
static int down_all(void **state)
{
	(void)state;
	for (int i = 0; i < 4; i++)
		if (ids_up[i][0]) {
			lab_punchlab_run(NULL, 0, "topo down --run %s >/dev/null 2>&1", ids_up[i]);
			ids_up[i][0] = '\0';
		}
	for (int i = 0; i < 2; i++)
		if (made_by_hand[i][0]) {
			netns_delete(made_by_hand[i]);
			made_by_hand[i][0] = '\0';
		}
	return 0;
}

static void up(const char *args, char id[INSTANCE_ID_LEN + 1])
{
	char out[4096];

	assert_int_equal(lab_punchlab_run(out, sizeof(out), "topo up %s", args), 0);
	assert_int_equal(strncmp(out, "run ", 4), 0);
	snprintf(id, INSTANCE_ID_LEN + 1, "%.6s", out + 4);
	remember(id);
}

static int count_netns(const char *id)
{
	char prefix[16];
	struct dirent *de;
	DIR *d = opendir(NETNS_DIR);
	int n = 0;

	snprintf(prefix, sizeof(prefix), "pl-%s-", id);
	if (!d)
		return 0;
	while ((de = readdir(d)))
		n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return n;
}

static bool run_dir_exists(const char *id)
{
	char path[96];
	struct stat st;

	snprintf(path, sizeof(path), "/run/punchlab/%s", id);
	return stat(path, &st) == 0;
}

static void topo_up_gives_a_network_and_topo_down_leaves_nothing(void **state)
{
	char id[INSTANCE_ID_LEN + 1], out[4096], cmd[512];
	pid_t server;

	(void)state;
	up("two-sites A=full-cone B=symmetric", id);
	assert_int_equal(count_netns(id), 6);
	assert_int_equal(lab_punchlab_run(out, sizeof(out), "topo list --json"), 0);
	assert_non_null(strstr(out, id));
	assert_int_equal(lab_punchlab_run(out, sizeof(out), "topo exec --run %s a -- ip -o -4 addr show eth0", id), 0);
	assert_non_null(strstr(out, "10.0.1.2/24"));
	/* --run=ID is ours to read; the host's command is passed as written. */
	assert_int_equal(lab_punchlab_run(out, sizeof(out), "topo exec --run=%s a echo --x=y -j2", id), 0);
	assert_non_null(strstr(out, "--x=y -j2"));
	assert_int_equal(lab_punchlab_run(out, sizeof(out), "topo exec --run=%s a -- echo --x=y", id), 0);
	assert_non_null(strstr(out, "--x=y"));
	/* A STUN server on the introducer, a probe from a: a's traffic leaves
	 * translated to nat-a's address. The server is left running on purpose:
	 * topo down must stop what runs in the run's namespaces. */
	snprintf(cmd, sizeof(cmd), "%s topo exec --run %s introducer -- %s stun-server 203.0.113.10 203.0.113.11",
		 lab_punchlab(), id, lab_punchlab());
	{
		char *argv[] = { "/bin/sh", "-c", cmd, NULL };
		int devnull = open("/dev/null", O_WRONLY);
		assert_int_equal(proc_spawn(NULL, argv, devnull, devnull, &server), 0);
		close(devnull);
	}
	/* The server may take a moment to listen: a few tries. */
	for (int tries = 0; tries < 10; tries++) {
		time_sleep_ms(200);
		if (lab_punchlab_run(out, sizeof(out), "topo exec --run %s a -- %s stun-probe 203.0.113.10 --json", id,
			     lab_punchlab()) == 0)
			break;
	}
	assert_non_null(strstr(out, "\"mapped\":\"192.0.2.2:"));
	assert_non_null(strstr(out, "\"filtering\":\"endpoint-independent\""));
	/* Silence is not "blocked": nothing answered is what is known. */
	lab_punchlab_run(out, sizeof(out), "topo exec --run %s a -- %s stun-probe 203.0.113.99 --wait 100", id, lab_punchlab());
	assert_non_null(strstr(out, "no STUN server answered"));
	assert_null(strstr(out, "blocked ("));
	assert_int_equal(lab_punchlab_run(out, sizeof(out), "topo down --run %s", id), 0);
	assert_int_equal(count_netns(id), 0);
	assert_false(run_dir_exists(id));
	/* The server inside the run was stopped with it. */
	assert_int_equal(proc_wait_timeout(server, 3000, NULL), 0);
	down_all(NULL);
}

static void two_runs_at_once_do_not_collide(void **state)
{
	char id1[INSTANCE_ID_LEN + 1], id2[INSTANCE_ID_LEN + 1], out[4096];

	(void)state;
	up("nat-probe M=port-restricted-cone", id1);
	up("nat-probe M=port-restricted-cone", id2);
	assert_string_not_equal(id1, id2);
	/* internet, nat, stun and two clients */
	assert_int_equal(count_netns(id1), 5);
	assert_int_equal(count_netns(id2), 5);
	/* Same addresses inside, separate networks: each has its own NAT state.
	 * Unsolicited packets at run 1's NAT (from its stun host, to the NAT's
	 * outside address) are dropped and counted there, and only there. */
	lab_punchlab_run(NULL, 0, "topo exec --run %s stun -- ping -n -q -c 3 -i 0.2 -W 1 203.0.113.2 >/dev/null", id1);
	assert_int_equal(lab_punchlab_run(out, sizeof(out), "topo exec --run %s nat -- nft list chain ip punchlab input", id1), 0);
	assert_non_null(strstr(out, "counter packets 3 "));
	assert_int_equal(lab_punchlab_run(out, sizeof(out), "topo exec --run %s nat -- nft list chain ip punchlab input", id2), 0);
	assert_non_null(strstr(out, "counter packets 0 "));
	assert_int_equal(lab_punchlab_run(out, sizeof(out), "topo exec --run %s client -- ip -o -4 addr show eth0", id2), 0);
	assert_non_null(strstr(out, "10.0.1.2/24"));
	/* With two runs up, a command without --run refuses and lists them. */
	assert_int_equal(lab_punchlab_run(out, sizeof(out), "topo exec client -- true 2>&1"), 2);
	assert_non_null(strstr(out, id1));
	assert_non_null(strstr(out, id2));
	assert_int_equal(lab_punchlab_run(NULL, 0, "topo down --run %s", id1), 0);
	assert_int_equal(count_netns(id1), 0);
	assert_int_equal(count_netns(id2), 5);
	down_all(NULL);
	assert_int_equal(count_netns(id2), 0);
}

static void a_run_whose_owner_died_is_removed_by_the_next_command(void **state)
{
	char id[INSTANCE_ID_LEN + 1];
	struct instance r;

	(void)state;
	up("nat-probe M=symmetric", id);
	assert_int_equal(instance_load(id, &r), 0);
	assert_true(instance_owner_alive(&r));
	kill(r.owner, SIGKILL);
	for (int i = 0; i < 100 && proc_alive(r.owner); i++)
		time_sleep_ms(10);
	assert_int_equal(lab_punchlab_run(NULL, 0, "topo list >/dev/null"), 0);
	assert_false(run_dir_exists(id));
	assert_int_equal(count_netns(id), 0);
}

static void a_foreground_run_is_removed_on_sigterm(void **state)
{
	char *argv[] = { (char *)lab_punchlab(), "topo", "up", "nat-probe", "M=full-cone", "--foreground", NULL };
	char buf[4096] = "", id[INSTANCE_ID_LEN + 1];
	int fds[2], code;
	size_t got = 0;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	assert_int_equal(proc_spawn(NULL, argv, fds[1], -1, &pid), 0);
	close(fds[1]);
	while (!strstr(buf, "foreground") && got < sizeof(buf) - 1) {
		ssize_t n = read(fds[0], buf + got, sizeof(buf) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		buf[got] = '\0';
	}
	close(fds[0]);
	assert_non_null(strstr(buf, "foreground"));
	snprintf(id, sizeof(id), "%.6s", buf + 4);
	remember(id);
	assert_int_equal(count_netns(id), 5);
	kill(pid, SIGTERM);
	assert_int_equal(proc_wait_timeout(pid, 5000, &code), 0);
	assert_int_equal(count_netns(id), 0);
	assert_false(run_dir_exists(id));
}

static void topo_down_removes_only_what_its_run_made(void **state)
{
	char id[INSTANCE_ID_LEN + 1], path[160], *unrecorded = made_by_hand[0], *foreign = made_by_hand[1];
	struct stat st;
	FILE *f;

	(void)state;
	/* `topo down --all` is not used here: other lab tests run at the same
	 * time, and their runs are theirs. */
	up("nat-probe M=full-cone", id);
	/* A namespace with the run's own prefix that the run never recorded,
	 * and a foreign one that a forged state line names. */
	snprintf(unrecorded, sizeof(made_by_hand[0]), "pl-%s-extra", id);
	snprintf(foreign, sizeof(made_by_hand[1]), "plx-%d-foreign", (int)getpid());
	assert_int_equal(netns_create(unrecorded), 0);
	assert_int_equal(netns_create(foreign), 0);
	snprintf(path, sizeof(path), "/run/punchlab/%s/state", id);
	f = fopen(path, "a");
	assert_non_null(f);
	fprintf(f, "netns %s\n", foreign);
	fclose(f);
	assert_int_equal(lab_punchlab_run(NULL, 0, "topo down --run %s >/dev/null", id), 0);
	assert_false(run_dir_exists(id));
	snprintf(path, sizeof(path), "%s/%s", NETNS_DIR, unrecorded);
	assert_int_equal(stat(path, &st), 0);
	snprintf(path, sizeof(path), "%s/%s", NETNS_DIR, foreign);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(netns_delete(unrecorded), 0);
	assert_int_equal(netns_delete(foreign), 0);
	unrecorded[0] = foreign[0] = '\0';
}

static void nat_check_reports_json_and_exit_status(void **state)
{
	char out[4096];

	(void)state;
	assert_int_equal(lab_punchlab_run(out, sizeof(out), "nat-check full-cone symmetric --json 2>/dev/null"), 0);
	assert_int_equal(out[0], '[');
	assert_non_null(strstr(out, "{\"model\":\"full-cone\",\"declared\":{\"nat\":\"napt\""));
	assert_non_null(strstr(out, "\"measured\":{\"udp\":true"));
	assert_null(strstr(out, "\"match\":false"));
	assert_int_equal(lab_punchlab_run(out, sizeof(out), "nat-check nonesuch 2>&1"), 2);
	assert_non_null(strstr(out, "no NAT model \"nonesuch\""));
}

/* Issue 14: the impairment forwarder kept the caller's stdout (`topo up
 * ... --link ... | tee f` never returned) and its process group (a signal
 * to the caller killed it silently while `topo list` said the run was
 * up). topo up's output must end when topo up does, and a dead forwarder
 * shows in topo list. */
static void an_impaired_link_lets_topo_up_return_and_a_dead_forwarder_shows(void **state)
{
	char *argv[] = { (char *)lab_punchlab(), "topo", "up", "two-sites", "A=full-cone", "B=full-cone",
			 "--link", "a-wan:delay=5ms", NULL };
	char out[4096] = "", path[128], line[256], id[INSTANCE_ID_LEN + 1];
	int fds[2], pid_fw = 0, code;
	size_t got = 0;
	pid_t pid;
	FILE *f;
	bool eof = false;

	(void)state;
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	assert_int_equal(proc_spawn(NULL, argv, fds[1], fds[1], &pid), 0);
	close(fds[1]);
	for (uint64_t until = time_now_ms() + 30000; !eof && time_now_ms() < until;) {
		struct pollfd pf = { fds[0], POLLIN, 0 };
		ssize_t n;
		if (poll(&pf, 1, 200) <= 0)
			continue;
		n = read(fds[0], out + got, sizeof(out) - 1 - got);
		if (n <= 0)
			eof = true;
		else
			got += (size_t)n;
	}
	close(fds[0]);
	out[got] = '\0';
	assert_int_equal(proc_wait_timeout(pid, 5000, &code), 0);
	assert_int_equal(code, 0);
	assert_int_equal(strncmp(out, "run ", 4), 0);
	snprintf(id, sizeof(id), "%.6s", out + 4);
	remember(id);
	assert_true(eof);   /* nothing of the run held topo up's output open */
	/* Its forwarder, killed as a signal to a process group would. */
	snprintf(path, sizeof(path), "/run/punchlab/%s/state", id);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		sscanf(line, "forwarder %*s %d", &pid_fw);
	fclose(f);
	assert_true(pid_fw > 0);
	assert_int_not_equal(getsid(pid_fw), getsid(0));
	assert_int_equal(lab_punchlab_run(out, sizeof(out), "topo list"), 0);
	assert_null(strstr(out, "BROKEN"));
	kill(pid_fw, SIGKILL);
	for (int i = 0; i < 50 && proc_alive(pid_fw); i++)
		time_sleep_ms(20);
	assert_int_equal(lab_punchlab_run(out, sizeof(out), "topo list"), 0);
	assert_non_null(strstr(out, "BROKEN: the impairment forwarder of nat-a's link died"));
	assert_int_equal(lab_punchlab_run(out, sizeof(out), "topo down --run %s", id), 0);
}

/* Every command with bad input (and the spellings it must take): the exit
 * code and the words it must say. Most are issue 14's findings. */
static void mistakes_get_clear_errors(void **state)
{
	static const struct {
		const char *args;   /* punchlab's arguments (2>&1 is added) */
		int code;
		const char *says;   /* in its output */
	} cases[] = {
		{ "topo up two-sites A=full-cone", 2, "needs B=MODEL" },
		{ "topo up two-sites A=full-cone B=cone", 2, "no NAT model \"cone\"" },
		{ "topo exec --run 000000 a -- true", 2, "no run \"000000\"" },
		/* --run with --all removed every run */
		{ "topo down --run 000000 --all", 2, "--run 000000 or --all, not both" },
		{ "stun-server 203.0.113.10 203.0.113.10", 2, "ALT_ADDR must be a second address" },
		{ "stun-probe no-such-host.invalid", 2, "cannot find an IPv4 address for no-such-host.invalid" },
		/* flags nat list ignored or accepted; a case-sensitive name without a word */
		{ "nat list --bogus", 2, "nat list: unexpected \"--bogus\"" },
		{ "nat list --json", 0, "[\"address-restricted-mapping\"," },
		{ "nat show Full-Cone", 2, "model names are lower case (full-cone?)" },
		{ "--version", 0, "punchlab 0." },
		/* flags as getopt_long takes them: --opt=value and -j2 */
		{ "nat show --public=203.0.113.9 symmetric", 0, "snat ip to 203.0.113.9:" },
		{ "run -j2 --models=", 2, "--models names no model" },
		{ "expect --topology=same-carrier full-cone symmetric", 0, "direct: yes" },
		/* --json was ignored by run --list-tools; topo show took no bare models */
		{ "run --list-tools --json", 0, "{\"name\":\"ref\",\"dir\":" },
		{ "run --tool no-such-tool --models full-cone", 2, "no tool \"no-such-tool\" (no no-such-tool/adapter in " },
		{ "run --tool ../ref --models full-cone", 2, "\"../ref\" cannot be a tool's name" },
		{ "run --json --list-scenarios", 0, "{\"name\":\"three-peers\"" },
		/* the third site's model was left out of the text listing */
		{ "run --list-scenarios", 0, "(three-sites port-restricted-cone full-cone restricted-cone)" },
		{ "run --json", 2, "--json goes with --list-tools or --list-scenarios" },
		{ "topo show two-sites symmetric full-cone", 0, "nat symmetric" },
		{ "topo --help", 0, "usage: punchlab topo up" },
		{ "report", 2, "name at least one run (a folder punchlab run wrote, or its results.json)" },
		{ "report /nonexistent/run", 2, "report: cannot read /nonexistent/run: No such file or directory" },
		{ "report --output=/dev/null README.md", 2, "README.md: not JSON (" },
		{ "report -o /nonexistent/dir/page.html results/reference/ref", 3, "cannot write /nonexistent/dir/page.html" },
		{ "report --frobnicate results/reference/ref", 2, "report: unexpected \"--frobnicate\"" },
		{ "report results/reference/ref -o", 2, "report: a value is missing after \"-o\"" },
		{ "run --scenario steady --duration 5", 2, "--duration takes 10 to 86400 seconds, not \"5\"" },
		{ "run --duration 60", 2, "--duration goes with --scenario steady, idle-long, sleep-wake or all" },
		{ "run --scenario nat-full --duration=60", 2, "--duration goes with --scenario steady, idle-long, sleep-wake or all" },
		{ "report -xo page.html results/reference/ref", 2, "report: unexpected \"-x\"" },
	};
	static const char *const progs[] = { "punchlab-agent", "punchlab-introducer", "punchlab-wg" };
	char out[4096], prog[PATH_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int code = lab_punchlab_run(out, sizeof(out), "%s 2>&1", cases[i].args);
		if (code != cases[i].code || !strstr(out, cases[i].says))
			fail_msg("punchlab %s: exit %d (want %d), output without \"%s\"", cases[i].args, code, cases[i].code,
				 cases[i].says);
	}
	/* One cause, one answer: no models to be found (exit 3 from both). */
	assert_int_equal(lab_shell(out, sizeof(out), "PUNCHLAB_HOME=/nonexistent %s nat list 2>&1", lab_punchlab()), 3);
	assert_non_null(strstr(out, "no nat-models folder found"));
	assert_int_equal(lab_shell(out, sizeof(out), "PUNCHLAB_HOME=/nonexistent %s nat show full-cone 2>&1", lab_punchlab()), 3);
	assert_non_null(strstr(out, "no nat-models folder found"));
	/* --version from the mesh's programs too. */
	for (int i = 0; i < 3; i++) {
		snprintf(prog, sizeof(prog), "%s", lab_punchlab());
		snprintf(strrchr(prog, '/') + 1, sizeof(prog) - (size_t)(strrchr(prog, '/') + 1 - prog), "%s", progs[i]);
		assert_int_equal(lab_shell(out, sizeof(out), "%s --version", prog), 0);
		assert_int_equal(strncmp(out, progs[i], strlen(progs[i])), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(topo_up_gives_a_network_and_topo_down_leaves_nothing, down_all),
		cmocka_unit_test_teardown(two_runs_at_once_do_not_collide, down_all),
		cmocka_unit_test_teardown(a_run_whose_owner_died_is_removed_by_the_next_command, down_all),
		cmocka_unit_test_teardown(a_foreground_run_is_removed_on_sigterm, down_all),
		cmocka_unit_test_teardown(topo_down_removes_only_what_its_run_made, down_all),
		cmocka_unit_test_teardown(an_impaired_link_lets_topo_up_return_and_a_dead_forwarder_shows, down_all),
		cmocka_unit_test(nat_check_reports_json_and_exit_status),
		cmocka_unit_test(mistakes_get_clear_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
