/* punchlab conform's timeout tests where passing takes minutes: a mapping
 * alive at 119 s (RFC 4787 REQ-5) and a half-closed TCP connection that
 * still carries data at 240 s (RFC 5382 REQ-5), on a model whose mappings
 * live 180 s and whose router keeps half-closed connections 5 minutes:
 * each checked with a minute to spare. Their failing sides are in
 * lab_conform.c and lab_conform_custom.c. (RFC 5382's 2 h 4 min for an
 * idle connection is `punchlab conform --tcp-idle`, not a test.) */
/* limit: 720 s */
#include "conform.h"

static void mappings_and_half_closed_connections_that_live_long_enough_pass(void **state)
{
	static const unsigned at[] = { 119 };
	static const struct conform_timing timing = { 0, 0, 0, 0, 240 };
	static const char *const pass[] = { "RFC4787 REQ-5", "RFC5382 REQ-5t", NULL };
	struct natcheck_opts o = { .points = at, .n_points = 1,
				   .router_cmd = "sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_close_wait=300 "
						 "net.netfilter.nf_conntrack_tcp_timeout_fin_wait=300" };
	char dir[PATH_MAX - 32], model[PATH_MAX];
	struct conform_report *rep;

	(void)state;
	/* Mappings of 180 s (tests/data/long-timeout.nat): checked at 119 s,
	 * a minute before they go, not a second. */
	assert_int_equal(paths_data_dir("tests/data", dir, sizeof(dir)), 0);
	snprintf(model, sizeof(model), "%s/long-timeout.nat", dir);
	rep = conform_subject_timed(model, &o, &timing);
	conform_expect(rep, CONFORM_PASS, pass);
	assert_int_equal(rep->obs.tcp_tr_alive, 1);
	free(rep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mappings_and_half_closed_connections_that_live_long_enough_pass),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
