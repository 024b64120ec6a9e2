/* punchlab conform's timeout tests where passing takes minutes: a mapping
 * alive at 119 s (RFC 4787 REQ-5) and a half-closed TCP connection that
 * still carries data at 240 s (RFC 5382 REQ-5), on a model whose mappings
 * live 180 s and whose router keeps half-closed connections 5 minutes:
 * each checked with a minute to spare, the two at once in labs of their
 * own. Their failing sides are in
 * lab_conform.c and lab_conform_custom.c. (RFC 5382's 2 h 4 min for an
 * idle connection is `punchlab conform --tcp-idle`, not a test.) */
/* limit: 480 s */
#include "conform.h"

#include <sys/wait.h>

/* RFC 4787 REQ-5 in a process of its own, beside the TCP timeline (each
 * its own lab): its verdict as the exit status (0: pass). */
static pid_t udp_mapping_alive_at_119s(const char *model)
{
	static const unsigned at[] = { 119 };
	struct natcheck_opts o = { .points = at, .n_points = 1 };
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct conform_report *rep = calloc(1, sizeof(*rep));
		const struct conform_row *r;
		if (!rep)
			_exit(2);
		conform_check(model, &o, NULL, rep);
		if (rep->check.error) {
			printf("UDP side: %s\n", rep->check.detail);
			_exit(2);
		}
		r = conform_find(rep->rows, rep->n_rows, "RFC4787 REQ-5");
		printf("UDP side: RFC4787 REQ-5 %s (%s)\n", r && r->verdict == CONFORM_PASS ? "passes" : "does not pass",
		       r ? r->evidence : "no row");
		fflush(stdout);
		_exit(r && r->verdict == CONFORM_PASS ? 0 : 1);
	}
	return pid;
}

static void mappings_and_half_closed_connections_that_live_long_enough_pass(void **state)
{
	static const struct conform_timing timing = { 0, 0, 0, 0, 240 };
	static const char *const pass[] = { "RFC5382 REQ-5t", NULL };
	struct natcheck_opts o = { .router_cmd = "sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_close_wait=300 "
						 "net.netfilter.nf_conntrack_tcp_timeout_fin_wait=300" };
	char dir[PATH_MAX - 32], model[PATH_MAX];
	struct conform_report *rep;
	int status = -1;
	pid_t udp;

	(void)state;
	/* Mappings of 180 s (tests/data/long-timeout.nat): checked at 119 s,
	 * a minute before they go, not a second; the TCP connection at 240 s,
	 * a minute before the router lets it go. Side by side: 4 minutes, not 6. */
	assert_int_equal(paths_data_dir("tests/data", dir, sizeof(dir)), 0);
	snprintf(model, sizeof(model), "%s/long-timeout.nat", dir);
	fflush(stdout);
	udp = udp_mapping_alive_at_119s(model);
	rep = conform_subject_timed(model, &o, &timing);
	assert_int_equal(waitpid(udp, &status, 0), udp);
	conform_expect(rep, CONFORM_PASS, pass);
	assert_int_equal(rep->obs.tcp_tr_alive, 1);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	free(rep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mappings_and_half_closed_connections_that_live_long_enough_pass),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
