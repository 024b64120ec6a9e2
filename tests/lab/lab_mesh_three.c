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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(three_peers_behind_three_nats_make_a_full_mesh, mesh_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
