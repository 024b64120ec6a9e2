/* The reference mesh past its first two minutes, in real time: every
 * window the agents and the introducer keep (message freshness 120 s,
 * WireGuard's rekey at 120 s, member expiry at 60 s) is crossed at least
 * once while traffic runs, and agents restarted in quick succession are
 * taken back at once. One of the suite's few long tests (~3.5 min). */
/* limit: 420 s */
#include "mesh.h"

#include <time.h>

#define LONG_PINGS 330          /* one every 0.5 s: 165 s */

static void a_direct_pair_stays_direct_past_every_two_minute_window(void **state)
{
	static struct mesh m;
	struct mesh_bytes before, after;
	char addr_b[32], intro[16], json[8192];
	int got;

	(void)state;
	/* The README's recipe pair that died at ~130 s. */
	mesh_up_pair(&m, "full-cone", "port-restricted-cone", "direct");
	assert_true(mesh_peer_field(&m, 0, "mesh_ipv4", addr_b, sizeof(addr_b)));
	before = mesh_read_counters(&m);
	got = mesh_ping_every(&m, 0, addr_b, LONG_PINGS, 56, "0.5");
	after = mesh_read_counters(&m);
	print_message("  %d of %d pings answered over %d s; %lld bytes direct, %lld through the introducer\n", got,
		      LONG_PINGS, LONG_PINGS / 2, after.direct - before.direct, after.introducer - before.introducer);
	if (got != LONG_PINGS || !mesh_wait_path(&m, 0, "direct", 100) || !mesh_wait_path(&m, 1, "direct", 100)) {
		mesh_down(&m, true);
		fail_msg("the tunnel did not stay direct for %d s (%d of %d pings answered)", LONG_PINGS / 2, got, LONG_PINGS);
	}
	/* Every ping crossed where the sites meet: 330 x 84 bytes each way, at
	 * least (the introducer's counter also holds 165 s of registrations). */
	assert_true(after.direct - before.direct >= 2LL * LONG_PINGS * 84);
	/* WireGuard rekeyed past 120 s (a new handshake, not one from the
	 * start), and neither agent ever lost its path or its membership. */
	for (int i = 0; i < 2; i++) {
		long long last = mesh_number(&m, i, true, "last_handshake"), n = mesh_number(&m, i, true, "handshakes");
		print_message("  %s: %lld handshakes, the last %lld s ago\n", mesh_host(i), n, (long long)time(NULL) - last);
		assert_true(n >= 2);
		assert_true(time(NULL) - last < 130);
		assert_true(mesh_status(&m, i, json, sizeof(json)));
		assert_true(mesh_json(json, false, "introducer", intro, sizeof(intro)));
		assert_string_equal(intro, "udp");
	}
	assert_false(mesh_log_has(&m, "a.log", "back on the relay"));
	assert_false(mesh_log_has(&m, "b.log", "back on the relay"));
	assert_false(mesh_log_has(&m, "introducer.log", "expired"));
	mesh_down(&m, false);
}

static void an_agent_restarted_twice_within_a_second_is_taken_back_at_once(void **state)
{
	static struct mesh m;
	char addr_b[32];
	uint64_t t0;
	bool back = false;

	(void)state;
	mesh_up_pair(&m, "port-restricted-cone", "restricted-cone", "direct");
	/* Two quick restarts: the last one within a second of the first. Its
	 * peer and the introducer still hold the earlier processes' counters. */
	t0 = time_now_ms();
	mesh_stop_agent(&m, 0);
	mesh_start_agent(&m, 0);
	time_sleep_ms(300);
	mesh_stop_agent(&m, 0);
	mesh_start_agent(&m, 0);
	print_message("  restarted twice in %llu ms\n", (unsigned long long)(time_now_ms() - t0));
	assert_true(time_now_ms() - t0 < 1000);
	/* Registered, direct and answering again within a few seconds: what
	 * it sends is not refused as a replay of what it sent before. */
	for (int t = 0; t < 10000 && !back; t += 100) {
		back = mesh_wait_path(&m, 0, "direct", 100);
		if (!back)
			time_sleep_ms(100);
	}
	print_message("  direct again %llu ms after the first restart\n", (unsigned long long)(time_now_ms() - t0));
	if (!back) {
		mesh_down(&m, true);
		fail_msg("the restarted agent did not get its direct path back within 10 s");
	}
	assert_true(mesh_peer_field(&m, 0, "mesh_ipv4", addr_b, sizeof(addr_b)));
	assert_int_equal(mesh_ping_every(&m, 0, addr_b, 10, 56, "0.2"), 10);
	assert_true(mesh_wait_path(&m, 1, "direct", 5000));
	mesh_down(&m, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(a_direct_pair_stays_direct_past_every_two_minute_window, mesh_teardown),
		cmocka_unit_test_teardown(an_agent_restarted_twice_within_a_second_is_taken_back_at_once, mesh_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
