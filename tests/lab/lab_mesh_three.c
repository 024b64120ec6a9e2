/* A full mesh of three agents behind three different NATs: every agent
 * lists both others, every pair goes direct where `punchlab expect` says it
 * can (here all three: one side of each pair maps endpoint-independently
 * and filters leniently, or both do), and pings flow between every pair,
 * through where that pair meets (the routers' counters). */
#include "mesh.h"

static int count(const char *text, const char *what)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, what)); p++)
		n++;
	return n;
}

static void three_peers_behind_three_nats_make_a_full_mesh(void **state)
{
	static struct mesh m;
	char *assigns[] = { "A=symmetric", "B=restricted-cone", "C=full-cone" }, buf[8192], addr[3][32];
	bool all = false;

	(void)state;
	mesh_up_members(&m, "three-sites", 3, assigns, NULL, true);
	for (int t = 0; t < 30000 && !all; t += 250) {
		all = true;
		for (int i = 0; i < 3 && all; i++)
			all = mesh_status(&m, i, buf, sizeof(buf)) && count(buf, "\"path\":\"direct\"") == 2;
		if (!all)
			time_sleep_ms(250);
	}
	if (!all) {
		mesh_down(&m, true);
		fail_msg("not every pair of the three went direct");
	}
	for (int i = 0; i < 3; i++) {
		assert_true(mesh_status(&m, i, buf, sizeof(buf)));
		assert_true(mesh_json(buf, false, "mesh_ipv4", addr[i], sizeof(addr[i])));
	}
	/* Each pair's pings cross where that pair meets, not the relay: the
	 * routers' counters say so, not only the agents. */
	mesh_counters(&m);
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++) {
			struct mesh_bytes before, after;
			enum path path;
			if (i == j)
				continue;
			before = mesh_read_pair(&m, mesh_host(i), mesh_host(j));
			assert_in_range(mesh_ping(&m, i, addr[j], 10, 1000), 9, 10);
			after = mesh_read_pair(&m, mesh_host(i), mesh_host(j));
			path = verdict_traffic((uint64_t)(after.direct - before.direct),
					       (uint64_t)(after.introducer - before.introducer), 2 * 10 * 1028);
			print_message("  %s to %s: %lld bytes where they meet, %lld at the introducer: %s\n", mesh_host(i),
				      mesh_host(j), after.direct - before.direct, after.introducer - before.introducer,
				      path_name(path));
			assert_int_equal(path, PATH_DIRECT);
		}
	mesh_down(&m, false);
}

/* With peers = on-demand, no agent is given a member list: each has no
 * peer until it has a packet for one. a's ping to c makes a ask the
 * introducer for c; c learns of a from the round of punching; the two go
 * direct, and b, which sent nothing, still has no peer (issue 17). */
static void on_demand_agents_meet_only_the_peers_they_have_packets_for(void **state)
{
	static struct mesh m;
	char *assigns[] = { "A=symmetric", "B=restricted-cone", "C=full-cone" }, buf[8192], addr[3][32];
	int got;

	(void)state;
	m.agent_extra = "peers = on-demand\n";
	mesh_up_members(&m, "three-sites", 3, assigns, NULL, true);
	for (int i = 0; i < 3; i++) {
		bool up = false;
		for (int t = 0; t < 10000 && !up; t += 200) {
			up = mesh_status(&m, i, buf, sizeof(buf)) && mesh_json(buf, false, "mesh_ipv4", addr[i], sizeof(addr[i])) &&
			     strcmp(addr[i], "");
			if (!up)
				time_sleep_ms(200);
		}
		assert_true(up);
	}
	time_sleep_ms(1500);   /* a list would have come by now */
	for (int i = 0; i < 3; i++) {
		assert_true(mesh_status(&m, i, buf, sizeof(buf)));
		assert_int_equal(count(buf, "\"path\":"), 0);
	}
	/* The first ping asks; the next ones go once c is a peer. */
	got = mesh_ping_every(&m, 0, addr[2], 10, 56, "0.3");
	print_message("  a to c: %d of 10 pings answered\n", got);
	assert_in_range(got, 5, 10);
	assert_true(mesh_wait_path(&m, 0, "direct", 20000));
	assert_true(mesh_wait_path(&m, 2, "direct", 20000));
	assert_true(mesh_status(&m, 0, buf, sizeof(buf)));
	assert_int_equal(count(buf, "\"path\":"), 1);
	assert_true(mesh_status(&m, 2, buf, sizeof(buf)));
	assert_int_equal(count(buf, "\"path\":"), 1);
	assert_true(mesh_status(&m, 1, buf, sizeof(buf)));
	assert_int_equal(count(buf, "\"path\":"), 0);
	assert_in_range(mesh_ping(&m, 2, addr[0], 10, 1000), 9, 10);
	mesh_down(&m, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(three_peers_behind_three_nats_make_a_full_mesh, mesh_teardown),
		cmocka_unit_test_teardown(on_demand_agents_meet_only_the_peers_they_have_packets_for, mesh_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
