/* The reference mesh with routers that map ports on request (Debian's
 * miniupnpd on the router, model key portmap): two symmetric NATs, which
 * no punching gets through, go direct when one side's router grants the
 * agent a mapping by UPnP IGD, by NAT-PMP or by PCP, each alone; the agent
 * removes its mapping when it stops; and a home router's mapping behind a
 * carrier NAT is not offered as public. Real introducer, real agents,
 * the routers' counters (mesh_check_pair). */
#include "mesh.h"
#include "nl/nftportmap.h"


/* Symmetric on a, symmetric whose router maps by WHAT on b: direct, and
 * one agent says it was found by port mapping. */
static void symmetric_pair_direct_through(const char *what)
{
	char params[PATH_MAX + 32];

	snprintf(params, sizeof(params), "A=symmetric B=%s", lab_model_with_portmap(lab_models, "symmetric", what));
	mesh_check_pair("two-sites", params, "direct", "port-mapping", NULL);
}

static void symmetric_pair_goes_direct_through_a_upnp_mapping(void **state)
{
	(void)state;
	symmetric_pair_direct_through("upnp");
}

static void symmetric_pair_goes_direct_through_a_nat_pmp_mapping(void **state)
{
	(void)state;
	symmetric_pair_direct_through("natpmp");
}

static void symmetric_pair_goes_direct_through_a_pcp_mapping(void **state)
{
	(void)state;
	symmetric_pair_direct_through("pcp");
}

/* b's agent holds a mapping its status names (protocol, endpoint on the
 * router's outside address, offered); the router maps one port while it
 * runs and none once it stopped. */
static void the_mapping_is_named_and_removed_when_the_agent_stops(void **state)
{
	static struct mesh m;
	char pa[32] = "A=symmetric", pb[PATH_MAX + 4], *assigns[] = { pa, pb }, proto[32], ep[64], json[4096];
	const char *router;

	(void)state;
	snprintf(pb, sizeof(pb), "B=%s", lab_model_with_portmap(lab_models, "symmetric", "pcp"));
	mesh_up(&m, "two-sites", 2, assigns);
	mesh_counters(&m);
	if (!mesh_wait_path(&m, 1, "direct", 30000)) {
		mesh_down(&m, true);
		fail_msg("symmetric x symmetric with PCP: no direct path");
	}
	assert_true(mesh_status(&m, 1, json, sizeof(json)));
	print_message("b's port mapping: %s\n", strstr(json, "\"port_mapping\""));
	assert_true(mesh_json(strstr(json, "\"port_mapping\""), false, "protocol", proto, sizeof(proto)));
	assert_string_equal(proto, "PCP");
	assert_true(mesh_json(strstr(json, "\"port_mapping\""), false, "endpoint", ep, sizeof(ep)));
	assert_non_null(strstr(json, "\"offered\":true"));
	router = lab_ns(&m.lab, "nat-b");
	struct nft_portmap_granted g;
	assert_int_equal(nft_portmap_granted(router, &g), 0);
	assert_true(g.count == 1 && g.protocols == NAT_PORTMAP_PCP);
	mesh_stop_agent(&m, 1);
	assert_true(mesh_log_has(&m, "b.log", "port mapping removed (PCP)"));
	assert_int_equal(nft_portmap_count(router), 0);
	mesh_down(&m, false);
}

/* A home router that maps ports, behind a carrier NAT: its mapping is on
 * the carrier's inside address, not where the introducer sees the agent,
 * so the agent does not offer it (and the introducer would pass on no
 * other): the status says why, and the pair is relayed as without it. */
static void a_mapping_behind_a_carrier_nat_is_not_offered(void **state)
{
	static struct mesh m;
	char pa[PATH_MAX + 4], pb[32] = "B=symmetric", *assigns[] = { pa, pb }, why[300], json[4096] = "";

	(void)state;
	snprintf(pa, sizeof(pa), "A=%s", lab_model_with_portmap(lab_models, "symmetric", "all"));
	mesh_up(&m, "double-nat", 2, assigns);
	for (int t = 0; t < 150; t++) {
		if (mesh_status(&m, 0, json, sizeof(json)) && strstr(json, "\"protocol\":\"PCP\""))
			break;
		time_sleep_ms(200);
	}
	print_message("a's port mapping: %s\n", strstr(json, "\"port_mapping\""));
	assert_non_null(strstr(json, "\"protocol\":\"PCP\""));
	assert_non_null(strstr(json, "\"offered\":false"));
	assert_true(mesh_json(strstr(json, "\"port_mapping\""), false, "why", why, sizeof(why)));
	assert_non_null(strstr(why, "not where the introducer sees us"));
	/* Two ports of a symmetric home router, through the carrier's random
	 * ports within its 1000-port block, land 1 to 16 apart about one run
	 * in sixty: a counter, as far as two samples tell, so the agent tries
	 * prediction (expected direct) instead of settling on the relay (seen
	 * in CI). Then what holds is what this test is about: b is never told
	 * of a mapping and no path goes direct. */
	char nat[128] = "";
	for (int t = 0; t < 50 && (!mesh_status(&m, 0, json, sizeof(json)) || !mesh_json(json, false, "nat", nat, sizeof(nat)) ||
				   !strncmp(nat, "not measured", 12));
	     t++)
		time_sleep_ms(200);
	print_message("a's NATs measured: %s\n", nat);
	assert_non_null(strstr(nat, "mapping per destination"));
	if (strstr(nat, "sequential")) {
		char tech[32], path[16];
		print_message("a counter, as two ports tell: checking that no path goes direct\n");
		for (int t = 0; t < 100; t++) {
			for (int i = 0; i < 2; i++)
				if (mesh_peer_field(&m, i, "path", path, sizeof(path)) && strcmp(path, "relay")) {
					mesh_down(&m, true);
					fail_msg("double-nat with a mapping home router: %s went %s", i ? "b" : "a", path);
				}
			if (mesh_peer_field(&m, 1, "technique", tech, sizeof(tech)) && !strcmp(tech, "port-mapping")) {
				mesh_down(&m, true);
				fail_msg("double-nat: b was offered a's mapping");
			}
			time_sleep_ms(200);
		}
	} else if (!mesh_wait_path(&m, 0, "relay", 30000) || !mesh_wait_path(&m, 1, "relay", 30000)) {
		mesh_down(&m, true);
		fail_msg("double-nat with a mapping home router: not settled on the relay");
	}
	mesh_down(&m, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(symmetric_pair_goes_direct_through_a_upnp_mapping, mesh_teardown),
		cmocka_unit_test_teardown(symmetric_pair_goes_direct_through_a_nat_pmp_mapping, mesh_teardown),
		cmocka_unit_test_teardown(symmetric_pair_goes_direct_through_a_pcp_mapping, mesh_teardown),
		cmocka_unit_test_teardown(the_mapping_is_named_and_removed_when_the_agent_stops, mesh_teardown),
		cmocka_unit_test_teardown(a_mapping_behind_a_carrier_nat_is_not_offered, mesh_teardown),
	};
	return cmocka_run_group_tests(tests, lab_models_make, lab_models_remove);
}
