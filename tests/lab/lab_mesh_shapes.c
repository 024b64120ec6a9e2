/* The reference mesh in the other shapes of network: both hosts on one
 * LAN, two homes behind one carrier NAT, a home behind a carrier NAT, a
 * host without NAT, and two sequential allocators predicting each other. */
#include "mesh.h"

static void peers_on_one_lan_meet_on_the_lan(void **state)
{
	(void)state;
	mesh_check_pair("same-lan", "A=symmetric", "direct", "same-lan", NULL);
}

static void homes_behind_one_carrier_meet_through_its_hairpin(void **state)
{
	(void)state;
	mesh_check_pair("same-carrier", "A=port-restricted-cone B=full-cone", "direct", "hairpin", NULL);
}

static void home_behind_a_carrier_nat_goes_direct(void **state)
{
	(void)state;
	mesh_check_pair("double-nat", "A=full-cone B=port-restricted-cone", "direct", "punching", NULL);
}

static void host_without_nat_is_reached_directly(void **state)
{
	(void)state;
	mesh_check_pair("two-sites", "A=open B=symmetric", "direct", "open", NULL);
}

static void two_sequential_allocators_predict_each_other(void **state)
{
	(void)state;
	mesh_check_pair("two-sites", "A=symmetric-sequential B=symmetric-sequential", "direct", "prediction", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(peers_on_one_lan_meet_on_the_lan, mesh_teardown),
		cmocka_unit_test_teardown(homes_behind_one_carrier_meet_through_its_hairpin, mesh_teardown),
		cmocka_unit_test_teardown(home_behind_a_carrier_nat_goes_direct, mesh_teardown),
		cmocka_unit_test_teardown(host_without_nat_is_reached_directly, mesh_teardown),
		cmocka_unit_test_teardown(two_sequential_allocators_predict_each_other, mesh_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
