/* punchlab conform on people's own routers: nftables rulesets loaded with
 * --ruleset (with --iface for their interface names) and a router command,
 * each breaking or meeting named requirements on purpose. */
/* limit: 240 s */
#include "conform.h"

static void a_router_with_many_faults_fails_each_of_them(void **state)
{
	static const char *const fail[] = { "RFC4787 REQ-1", "RFC4787 REQ-4", "RFC4787 REQ-10", "RFC4787 REQ-13",
					    "RFC4787 REQ-14", "RFC5382 REQ-1", "RFC5382 REQ-4", "RFC5508 REQ-1",
					    "RFC5508 REQ-4", NULL };
	/* fully-random never shares an outside port between two hosts */
	static const char *const pass[] = { "RFC4787 REQ-3", "RFC5382 REQ-7", "RFC4787 REQ-11", "RFC4787 REQ-12", NULL };
	struct natcheck_opts o = { .ruleset = conform_data("many-faults.nft") };
	struct conform_report *rep = conform_subject(NULL, &o);

	(void)state;
	conform_expect(rep, CONFORM_FAIL, fail);
	conform_expect(rep, CONFORM_PASS, pass);
	assert_int_equal(rep->obs.syn_answer, OBS_RST);
	free(rep);
}

/* --router-cmd: a script adds outside addresses and a ruleset that uses
 * them by turns, and keeps even ports but randomises odd ones. */
static void a_router_command_of_two_minds_is_not_deterministic(void **state)
{
	static const char *const fail[] = { "RFC4787 REQ-2", "RFC4787 REQ-11", NULL };
	char cmd[PATH_MAX + 8];
	struct natcheck_opts o = { .router_cmd = cmd };
	struct conform_report *rep;

	(void)state;
	snprintf(cmd, sizeof(cmd), "sh %s", conform_data("two-minds.sh"));
	rep = conform_subject(NULL, &o);
	conform_expect(rep, CONFORM_FAIL, fail);
	assert_true(rep->obs.pool_addrs > 1);
	free(rep);
}

static void a_tcp_full_cone_filters_by_nothing_and_hairpins(void **state)
{
	static const char *const pass[] = { "RFC5382 REQ-3", "RFC5382 REQ-8", "RFC5382 REQ-2", NULL };
	struct natcheck_opts o = { .ruleset = conform_data("tcp-full-cone.nft") };
	struct conform_report *rep = conform_subject(NULL, &o);

	(void)state;
	conform_expect(rep, CONFORM_PASS, pass);
	assert_int_equal(rep->obs.tcp_filtering, NAT_ENDPOINT_INDEPENDENT);
	free(rep);
}

static void dropping_inbound_syns_breaks_simultaneous_open(void **state)
{
	static const char *const fail[] = { "RFC5382 REQ-2", NULL };
	static const char *const pass[] = { "RFC5382 REQ-1", NULL };
	struct natcheck_opts o = { .ruleset = conform_data("no-inbound-syn.nft") };
	struct conform_report *rep = conform_subject(NULL, &o);

	(void)state;
	conform_expect(rep, CONFORM_FAIL, fail);
	conform_expect(rep, CONFORM_PASS, pass);
	free(rep);
}

static void a_mapping_that_icmp_ends_fails_req12(void **state)
{
	static const char *const fail[] = { "RFC4787 REQ-12", NULL };
	static const char *const pass[] = { "RFC4787 REQ-1", "RFC4787 REQ-8", NULL };
	struct natcheck_opts o = { .ruleset = conform_data("icmp-ends-mapping.nft") };
	struct conform_report *rep = conform_subject(NULL, &o);

	(void)state;
	conform_expect(rep, CONFORM_FAIL, fail);
	conform_expect(rep, CONFORM_PASS, pass);
	free(rep);
}

/* A home router's nftables.conf naming eth0 and br-lan: with --iface the
 * lab's interfaces get those names and the whole table is judged. */
/* The verdict of requirement ID in conform's JSON ("" if absent). */
static const char *json_verdict(const char *json, const char *id, char *buf, size_t len)
{
	char key[64];
	const char *row;

	snprintf(key, sizeof(key), "{\"id\":\"%s\"", id);
	buf[0] = '\0';
	if ((row = strstr(json, key)))
		text_json_field(row, "verdict", buf, len);
	return buf;
}

/* A home router's nftables.conf naming eth0 and br-lan, through the
 * command line: with --iface the lab's interfaces get those names and the
 * whole table is judged (exit 1: MUSTs fail); --output writes it three
 * ways; --save-model gives a model that `punchlab expect` reasons with
 * and `punchlab run` drives the mesh through. */
static void a_home_routers_ruleset_with_its_own_interface_names(void **state)
{
	static const char *const pass[] = { "RFC4787 REQ-1", "RFC4787 REQ-13", "RFC4787 REQ-14", "RFC5382 REQ-2",
					    "RFC5382 REQ-4", "RFC5508 REQ-1", "RFC5508 REQ-4", NULL };
	static const char *const fail[] = { "RFC4787 REQ-3", "RFC4787 REQ-9", NULL };
	char dir[] = "/tmp/pl-conform-XXXXXX", path[64], v[16], *json = NULL, *html = NULL;
	static char out[16384];
	size_t len;
	int rows = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(lab_punchlab_run(out, sizeof(out),
					  "conform --ruleset %s --iface wan=eth0,lan=br-lan --output %s --save-model %s/home.nat 2>&1",
				  conform_data("home-router.nft"), dir, dir),
			 1);
	assert_non_null(strstr(out, "conformance of "));
	assert_non_null(strstr(out, "RFC4787 REQ-1  endpoint-independent mapping"));
	assert_non_null(strstr(out, "41 requirements: "));
	assert_non_null(strstr(out, " skipped (not measured)"));
	/* One subject: conformance.json is an object, as --json prints it. */
	snprintf(path, sizeof(path), "%s/conformance.json", dir);
	assert_int_equal(text_read_file(path, 1 << 20, &json, &len), 0);
	assert_int_equal(strncmp(json, "{\"subject\":", 11), 0);
	for (const char *p = json; (p = strstr(p, "{\"id\":")); p++)
		rows++;
	assert_int_equal(rows, 41);
	for (int i = 0; pass[i]; i++)
		assert_string_equal(json_verdict(json, pass[i], v, sizeof(v)), "pass");
	for (int i = 0; fail[i]; i++)
		assert_string_equal(json_verdict(json, fail[i], v, sizeof(v)), "fail");
	snprintf(path, sizeof(path), "%s/report.html", dir);
	assert_int_equal(text_read_file(path, 1 << 20, &html, &len), 0);
	assert_non_null(strstr(html, "<table id=\"conformance\">"));
	/* The router as a model: endpoint-independent mapping, filtering by
	 * address and port, so a peer behind full-cone meets it by punching. */
	assert_int_equal(lab_punchlab_run(out, sizeof(out), "expect %s/home.nat full-cone 2>&1", dir), 0);
	assert_non_null(strstr(out, "direct: yes"));
	/* and the reference mesh driven through it, as expect says */
	assert_int_equal(lab_punchlab_run(out, sizeof(out), "run --models %s/home.nat,full-cone -j 2 --output %s/run 2>&1", dir, dir),
			 0);
	assert_non_null(strstr(out, "3 of 3 scenarios as expected"));
	free(json);
	free(html);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	assert_int_equal(system(path), 0);
}

/* A model with a command on top, setting the kernel's timeouts: ICMP
 * raised to 90 s keeps an echo's mapping past the 60 s RFC 5508 REQ-2 asks
 * for; TCP lowered to 20 s established and 10 s half-closed loses both
 * connections long before RFC 5382 REQ-5's 2 h 4 min and 4 min. */
/* Issue 14: a ruleset nft refuses exited 3 (the lab failed) where 2 is
 * bad input. */
static void a_ruleset_nft_refuses_is_bad_input(void **state)
{
	char path[] = "/tmp/pl-conform-bad-XXXXXX";
	static char out[8192];
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "table ip x { chain y { this is not nft; } }\n", 45), 45);
	close(fd);
	assert_int_equal(lab_punchlab_run(out, sizeof(out), "conform --ruleset %s 2>&1", path), 2);
	assert_non_null(strstr(out, "failed in the router"));
	unlink(path);
}

static void a_routers_own_timeouts_are_judged(void **state)
{
	static const struct conform_timing timing = { 0, 61, 0, 30, 20 };
	static const char *const pass[] = { "RFC5508 REQ-2", NULL };
	static const char *const fail[] = { "RFC5382 REQ-5e", "RFC5382 REQ-5t", NULL };
	struct natcheck_opts o = { .router_cmd = "sysctl -qw net.netfilter.nf_conntrack_icmp_timeout=90 "
						 "net.netfilter.nf_conntrack_tcp_timeout_established=20 "
						 "net.netfilter.nf_conntrack_tcp_timeout_close_wait=10" };
	struct conform_report *rep = conform_subject_timed("port-restricted-cone", &o, &timing);

	(void)state;
	conform_expect(rep, CONFORM_PASS, pass);
	conform_expect(rep, CONFORM_FAIL, fail);
	free(rep);
}

/* The test NAT program's command line in this build, with ARGS. */
static const char *toynat(const char *args)
{
	static char cmd[PATH_MAX + 160];
	char *slash;

	snprintf(cmd, sizeof(cmd), "%s", lab_punchlab());
	slash = strrchr(cmd, '/');
	snprintf(slash, sizeof(cmd) - (size_t)(slash - cmd), "/tests/toynat --wan wan --lan site %s", args);
	return cmd;
}

/* --router-cmd with a NAT program that keeps running (tests/tools/toynat.c,
 * a userspace full cone), on the carrier model's addresses: judged like any
 * NAT, stopped at the end. Its mappings live 20 s and only inbound packets
 * refresh them: refreshed from inside at 15 s, a mapping is gone at 30 s
 * (REQ-6 fails); from outside it lives (REQ-6a). Its 1000 ports, all taken
 * by the limit test, are free again the moment they expire (RFC 6888
 * REQ-8 fails at 35 s). */
static void a_nat_program_refreshing_only_inbound_fails_req6(void **state)
{
	static const struct conform_timing timing = { 30, 0, 35, 0, 0 };
	static const char *const fail[] = { "RFC4787 REQ-6", "RFC6888 REQ-8", "RFC4787 REQ-9", NULL };
	static const char *const pass[] = { "RFC4787 REQ-1", "RFC4787 REQ-3", "RFC4787 REQ-6a", "RFC4787 REQ-8",
					    "RFC6888 REQ-4", NULL };
	struct natcheck_opts o = { .router_cmd = toynat("--ports 30000-30999 --timeout 20 --no-outbound-refresh") };
	struct conform_report *rep = conform_subject_timed("cgnat", &o, &timing);

	(void)state;
	assert_true(rep->check.measured.translated);
	conform_expect(rep, CONFORM_FAIL, fail);
	conform_expect(rep, CONFORM_PASS, pass);
	assert_int_equal(rep->obs.refresh_none, 0);
	assert_int_equal(rep->obs.tcp, 0); /* UDP only */
	assert_true(rep->obs.hold_port >= 30000 && rep->obs.hold_port <= 30999);
	free(rep);
	/* stopped with its run: no toynat of ours is left */
	assert_int_not_equal(
		system("pgrep -f 'toynat --wan wan --lan site --ports 30000-30999 --timeout 20 --no-outbound-refres[h]' >/dev/null"), 0);
}

/* The same NAT holding a freed port 60 s: at 35 s the ports that expired
 * at 20 s are still held, so a new flow gets none (RFC 6888 REQ-8). */
static void a_carrier_nat_holding_freed_ports_meets_rfc6888_req8(void **state)
{
	static const struct conform_timing timing = { 0, 0, 35, 0, 0 };
	static const char *const pass[] = { "RFC6888 REQ-8", "RFC6888 REQ-4", NULL };
	struct natcheck_opts o = { .router_cmd = toynat("--ports 30000-30999 --timeout 20 --hold-down 60") };
	struct conform_report *rep = conform_subject_timed("cgnat", &o, &timing);

	(void)state;
	conform_expect(rep, CONFORM_PASS, pass);
	assert_int_equal(rep->obs.hold_new, 0);
	assert_int_equal(rep->obs.hold_old_alive, 0);
	free(rep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_routers_own_timeouts_are_judged),
		cmocka_unit_test(a_nat_program_refreshing_only_inbound_fails_req6),
		cmocka_unit_test(a_carrier_nat_holding_freed_ports_meets_rfc6888_req8),
		cmocka_unit_test(a_ruleset_nft_refuses_is_bad_input),
		cmocka_unit_test(a_router_with_many_faults_fails_each_of_them),
		cmocka_unit_test(a_router_command_of_two_minds_is_not_deterministic),
		cmocka_unit_test(a_tcp_full_cone_filters_by_nothing_and_hairpins),
		cmocka_unit_test(dropping_inbound_syns_breaks_simultaneous_open),
		cmocka_unit_test(a_mapping_that_icmp_ends_fails_req12),
		cmocka_unit_test(a_home_routers_ruleset_with_its_own_interface_names),
	};
	/* each test its own lab, waiting out its timeouts beside the others */
	return lab_side_by_side("lab_conform_custom", tests, sizeof(tests) / sizeof(tests[0]), 4);
}
