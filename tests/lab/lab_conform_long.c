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

/* Mappings of 180 s (tests/data/long-timeout.nat). */
static const char *long_timeout_model(void)
{
	static char model[PATH_MAX];
	char dir[PATH_MAX - 32];

	assert_int_equal(paths_data_dir("tests/data", dir, sizeof(dir)), 0);
	snprintf(model, sizeof(model), "%s/long-timeout.nat", dir);
	return model;
}

/* Checked at 119 s: a minute before the mappings go, not a second. */
static void a_mapping_alive_at_119s_passes_rfc4787_req5(void **state)
{
	static const unsigned at[] = { 119 };
	static const char *const pass[] = { "RFC4787 REQ-5", NULL };
	struct natcheck_opts o = { .points = at, .n_points = 1 };
	struct conform_report *rep = conform_subject(long_timeout_model(), &o);

	(void)state;
	conform_expect(rep, CONFORM_PASS, pass);
	free(rep);
}

/* Written to at 240 s: a minute before the router lets it go. */
static void a_half_closed_connection_alive_at_240s_passes_rfc5382_req5(void **state)
{
	static const struct conform_timing timing = { 0, 0, 0, 0, 240 };
	static const char *const pass[] = { "RFC5382 REQ-5t", NULL };
	struct natcheck_opts o = { .router_cmd = "sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_close_wait=300 "
						 "net.netfilter.nf_conntrack_tcp_timeout_fin_wait=300" };
	struct conform_report *rep = conform_subject_timed(long_timeout_model(), &o, &timing);

	(void)state;
	conform_expect(rep, CONFORM_PASS, pass);
	assert_int_equal(rep->obs.tcp_tr_alive, 1);
	free(rep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_half_closed_connection_alive_at_240s_passes_rfc5382_req5),
		cmocka_unit_test(a_mapping_alive_at_119s_passes_rfc4787_req5),
	};
	/* the two at once, each in a lab of its own: 4 minutes, not 6 */
	return lab_side_by_side("lab_conform_long", tests, sizeof(tests) / sizeof(tests[0]), 2);
}
