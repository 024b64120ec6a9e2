/* What an agent concludes from how the introducer saw it: the kind of NAT,
 * and (through expect_path, the one table) whether a peer can be reached
 * directly and why not. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "mesh/natclass.h"

static struct wg_endpoint ep(const char *s)
{
	struct wg_endpoint e;

	assert_int_equal(wg_endpoint_parse(s, &e), 0);
	return e;
}

static struct mesh_nat_class classify(const char *s0, const char *s1, const char *local)
{
	struct wg_endpoint seen[2] = { ep(s0), ep(s1) }, l = ep(local);
	struct mesh_nat_class c;

	mesh_nat_classify(seen, &l, 1, false, &c);
	return c;
}

static void same_port_from_both_addresses_is_endpoint_independent(void **state)
{
	struct mesh_nat_class c = classify("192.0.2.2:4000", "192.0.2.2:4000", "10.0.1.2:4000");

	(void)state;
	assert_true(c.known);
	assert_false(c.varies);
	assert_false(c.open);
}

static void ports_a_step_apart_are_sequential_and_far_apart_random(void **state)
{
	struct mesh_nat_class seq = classify("192.0.2.2:20000", "192.0.2.2:20001", "10.0.1.2:4000"),
			      rnd = classify("192.0.2.2:20000", "192.0.2.2:41234", "10.0.1.2:4000");

	(void)state;
	assert_true(seq.varies && seq.sequential);
	assert_int_equal(seq.delta, 1);
	assert_true(rnd.varies && !rnd.sequential);
}

static void own_address_seen_means_no_nat(void **state)
{
	struct mesh_nat_class c = classify("198.51.100.2:4000", "198.51.100.2:4000", "198.51.100.2:4000");

	(void)state;
	assert_true(c.open);
}

static void two_random_per_destination_nats_are_relayed_with_the_reason(void **state)
{
	struct mesh_nat_class a = classify("192.0.2.2:20000", "192.0.2.2:41234", "10.0.1.2:4000"),
			      b = classify("192.0.2.10:3000", "192.0.2.10:60000", "10.0.2.2:4000");
	struct expect_result r;

	(void)state;
	mesh_nat_expect(&a, &b, false, "bob", &r);
	assert_false(r.direct);
	assert_non_null(strstr(r.why, "measured: both NATs map per destination"));
	assert_non_null(strstr(r.why, "no direct path"));
}

static void random_against_endpoint_independent_needs_birthday_and_names_the_sides(void **state)
{
	struct mesh_nat_class hard = classify("192.0.2.2:20000", "192.0.2.2:41234", "10.0.1.2:4000"),
			      easy = classify("192.0.2.10:3000", "192.0.2.10:3000", "10.0.2.2:3000");
	struct expect_result r;

	(void)state;
	mesh_nat_expect(&hard, &easy, false, "bob", &r);
	assert_true(r.direct);
	assert_int_equal(r.technique, EXPECT_BIRTHDAY);
	assert_non_null(strstr(r.why, "our NAT maps per destination"));
	assert_non_null(strstr(r.why, "bob's filters"));
	mesh_nat_expect(&easy, &easy, true, "bob", &r);
	assert_int_equal(r.technique, EXPECT_SAME_LAN);
}

static void udp_blocked_side_is_relayed_over_tcp(void **state)
{
	struct wg_endpoint none[2];
	struct mesh_nat_class tcp, easy = classify("192.0.2.10:3000", "192.0.2.10:3000", "10.0.2.2:3000");
	struct expect_result r;

	(void)state;
	memset(none, 0, sizeof(none));
	mesh_nat_classify(none, NULL, 0, true, &tcp);
	assert_true(tcp.known && tcp.tcp_only);
	mesh_nat_expect(&easy, &tcp, false, "bob", &r);
	assert_false(r.direct);
	assert_non_null(strstr(r.why, "bob's network drops outbound UDP"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(same_port_from_both_addresses_is_endpoint_independent),
		cmocka_unit_test(ports_a_step_apart_are_sequential_and_far_apart_random),
		cmocka_unit_test(own_address_seen_means_no_nat),
		cmocka_unit_test(two_random_per_destination_nats_are_relayed_with_the_reason),
		cmocka_unit_test(random_against_endpoint_independent_needs_birthday_and_names_the_sides),
		cmocka_unit_test(udp_blocked_side_is_relayed_over_tcp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
