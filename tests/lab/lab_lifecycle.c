/* Lifecycle scenarios through punchlab run, each a run of its own, side by
 * side: a NAT reboots under a running tunnel, which comes back; a steady
 * pair with traffic, every window watched for a change of path (none); a
 * long silence, then traffic again at once; a peer asleep past its NAT's
 * mappings, then awake; a peer that moves behind another NAT; a path MTU
 * black hole. The full lengths (ten minutes
 * of steady, five of silence) are make soak's; here steady runs just past
 * WireGuard's rekey at two minutes, and the silence is short. */
/* limit: 210 s */
#include "lab.h"

/* punchlab run ARGS into a fresh folder: its results.json (freed by the
 * caller), after the run exited 0; the folder's name into dir. */
static char *run(const char *args, char *dir, size_t len)
{
	static char log[16384];
	char *json;

	snprintf(dir, len, "/tmp/pl-life-XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(lab_punchlab_run(log, sizeof(log), "run %s --output %s 2>&1", args, dir), 0);
	json = lab_slurp(dir, "results.json");
	return json;
}

/* The first number under "key" in json (a lifecycle's field). */
static double number_of(const char *json, const char *key)
{
	char pat[64];
	const char *p;
	double v = -1;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	assert_non_null(p = strstr(json, pat));
	assert_int_equal(sscanf(p + strlen(pat), "%lf", &v), 1);
	return v;
}

/* The scenario's event happened, and the pair ended direct. */
static void happened_and_direct(const char *json, const char *name)
{
	char pat[96];

	snprintf(pat, sizeof(pat), "\"lifecycle\":{\"name\":\"%s\",\"happened\":true", name);
	assert_non_null(strstr(json, pat));
	assert_non_null(strstr(json, "\"path_after\":\"direct\""));
}

static void nat_reboot_midstream_is_recorded_and_survived(void **state)
{
	char dir[64], *json;

	(void)state;
	json = run("--scenario nat-reboot-midstream", dir, sizeof(dir));
	happened_and_direct(json, "nat-reboot-midstream");
	assert_int_equal(lab_count(json, "\"outcome\":\"connected\""), 1);
	free(json);
	json = lab_slurp(dir, "report.html");
	assert_non_null(strstr(json, "<g class=\"timeline\" data-scenario=\"nat-reboot-midstream\""));
	free(json);
	assert_int_equal(lab_shell(NULL, 0, "rm -rf %s", dir), 0);
}

/* Direct from start to end, every probe answered: no change of path,
 * across WireGuard's rekey at two minutes (a handshake seen on the wire). */
static void a_steady_pair_stays_direct_with_no_change_of_path(void **state)
{
	char dir[64], *json;

	(void)state;
	json = run("--scenario steady --duration 130", dir, sizeof(dir));
	happened_and_direct(json, "steady");
	assert_non_null(strstr(json, "\"quiet_s\":0,\"watch_s\":130,"));
	assert_in_range((int)number_of(json, "handshakes"), 1, 3);
	assert_non_null(strstr(json, "\"lost_after\":0,"));
	assert_non_null(strstr(json, "\"path_changes\":0,\"changes\":[]"));
	assert_non_null(strstr(json, "\"as_expected\":true"));
	free(json);
	assert_int_equal(lab_shell(NULL, 0, "rm -rf %s", dir), 0);
}

/* Silence (the tools' own keepalives only), then the first probe is
 * answered at once, on the direct path. */
static void after_a_long_silence_traffic_flows_again_directly(void **state)
{
	char dir[64], *json;
	double first;

	(void)state;
	json = run("--scenario idle-long --duration 30", dir, sizeof(dir));
	happened_and_direct(json, "idle-long");
	assert_non_null(strstr(json, "\"quiet_s\":30,\"watch_s\":15,"));
	first = number_of(json, "first_reply_s");
	assert_true(first >= 0 && first < 5.0);   /* not a re-punch from nothing */
	free(json);
	assert_int_equal(lab_shell(NULL, 0, "rm -rf %s", dir), 0);
}

/* A laptop's lid closed for longer than its NAT keeps a mapping: a's
 * agent stopped 30 s (mappings live 20 s), then continued. The tunnel
 * must come back by itself, directly; nothing is left stopped. */
static void a_peer_that_sleeps_past_its_mappings_comes_back_directly(void **state)
{
	char dir[64], *json;
	double first;

	(void)state;
	json = run("--scenario sleep-wake --duration 30", dir, sizeof(dir));
	happened_and_direct(json, "sleep-wake");
	assert_non_null(strstr(json, "\"quiet_s\":30,\"watch_s\":20,"));
	assert_int_equal(lab_count(json, "\"outcome\":\"connected\""), 1);
	first = number_of(json, "first_reply_s");
	assert_true(first >= 0 && first < 10.0);
	assert_non_null(strstr(json, "\"error\":\"\""));   /* the wake went through */
	free(json);
	assert_int_equal(lab_shell(NULL, 0, "rm -rf %s", dir), 0);
}

/* A laptop changes networks while traffic runs: a moves from behind one
 * NAT to behind another (three-sites: site a to site c). The tunnel must
 * follow it and be direct again. */
static void a_peer_that_roams_to_another_nat_is_followed(void **state)
{
	char dir[64], *json;

	(void)state;
	json = run("--scenario roam", dir, sizeof(dir));
	happened_and_direct(json, "roam");
	assert_int_equal(lab_count(json, "\"outcome\":\"connected\""), 1);
	assert_non_null(strstr(json, "\"error\":\"\""));   /* the move went through */
	free(json);
	assert_int_equal(lab_shell(NULL, 0, "rm -rf %s", dir), 0);
}

/* A link that drops what is over 1280 bytes and says nothing: probes of
 * 1228 bytes with don't-fragment (ping -M do -s 1200) must get through
 * again, in pieces, within seconds, on the direct path. */
static void a_path_mtu_black_hole_is_crossed(void **state)
{
	char dir[64], *json;
	double first;

	(void)state;
	json = run("--scenario mtu-blackhole", dir, sizeof(dir));
	happened_and_direct(json, "mtu-blackhole");
	assert_int_equal(lab_count(json, "\"outcome\":\"connected\""), 1);
	assert_non_null(strstr(json, "\"error\":\"\""));
	first = number_of(json, "first_reply_s");
	assert_true(first >= 0 && first < 15.0);   /* a probe every 5 s, two lost in a row: about 7 s at most */
	free(json);
	assert_int_equal(lab_shell(NULL, 0, "rm -rf %s", dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(after_a_long_silence_traffic_flows_again_directly),
		cmocka_unit_test(a_steady_pair_stays_direct_with_no_change_of_path),
		cmocka_unit_test(nat_reboot_midstream_is_recorded_and_survived),
		cmocka_unit_test(a_peer_that_sleeps_past_its_mappings_comes_back_directly),
		cmocka_unit_test(a_peer_that_roams_to_another_nat_is_followed),
		cmocka_unit_test(a_path_mtu_black_hole_is_crossed),
	};
	/* each its own run and lab; they mostly wait */
	return lab_side_by_side("lab_lifecycle", tests, sizeof(tests) / sizeof(tests[0]), 5);
}
