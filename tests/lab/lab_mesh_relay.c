/* The reference mesh where no direct path exists: the agents recognise it
 * from what they measured, say why, and carry everything over the
 * introducer's relay (over TCP where UDP is blocked). */
#include "mesh.h"

static void two_symmetric_nats_are_relayed_and_say_why(void **state)
{
	(void)state;
	mesh_check_pair("two-sites", "A=symmetric B=symmetric", "relay", NULL, "both NATs map per destination");
}

static void address_dependent_mapping_and_symmetric_are_relayed(void **state)
{
	(void)state;
	mesh_check_pair("two-sites", "A=address-restricted-mapping B=symmetric", "relay", NULL, "map per destination");
}

static void random_and_sequential_per_destination_are_relayed(void **state)
{
	(void)state;
	mesh_check_pair("two-sites", "A=symmetric B=symmetric-sequential", "relay", NULL, "unpredictably");
}

static void udp_blocked_site_reaches_the_mesh_over_tcp(void **state)
{
	(void)state;
	mesh_check_pair("udp-blocked-site", "B=full-cone", "relay", NULL, "drops outbound UDP");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(two_symmetric_nats_are_relayed_and_say_why, mesh_teardown),
		cmocka_unit_test_teardown(address_dependent_mapping_and_symmetric_are_relayed, mesh_teardown),
		cmocka_unit_test_teardown(random_and_sequential_per_destination_are_relayed, mesh_teardown),
		cmocka_unit_test_teardown(udp_blocked_site_reaches_the_mesh_over_tcp, mesh_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
