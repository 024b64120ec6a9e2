/* The reference mesh across two sites whose NATs allow a direct path:
 * plain punching, the masquerade trap, prediction and birthday probing.
 * Each test: real introducer, real agents, pings both ways, and the
 * routers' counters agree with the agents' status. The path and the
 * technique each pair must show are written here by hand (mesh_check_pair). */
#include "mesh.h"

static void symmetric_and_restricted_cone_go_direct(void **state)
{
	(void)state;
	mesh_check_pair("two-sites", "A=symmetric B=restricted-cone", "direct", "punching", NULL);
}

static void full_cones_go_direct(void **state)
{
	(void)state;
	mesh_check_pair("two-sites", "A=full-cone B=full-cone", "direct", "punching", NULL);
}

static void port_restricted_cones_go_direct(void **state)
{
	(void)state;
	mesh_check_pair("two-sites", "A=port-restricted-cone B=port-restricted-cone", "direct", "punching", NULL);
}

static void two_linux_masquerades_go_direct_despite_the_conntrack_trap(void **state)
{
	(void)state;
	mesh_check_pair("two-sites", "A=linux-masquerade B=linux-masquerade", "direct", "punching", NULL);
}

static void sequential_allocator_is_predicted(void **state)
{
	(void)state;
	mesh_check_pair("two-sites", "A=symmetric-sequential B=port-restricted-cone", "direct", "prediction", NULL);
}

static void symmetric_and_port_restricted_cone_meet_by_birthday_probing(void **state)
{
	(void)state;
	mesh_check_pair("two-sites", "A=symmetric B=port-restricted-cone", "direct", "birthday", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(symmetric_and_restricted_cone_go_direct, mesh_teardown),
		cmocka_unit_test_teardown(full_cones_go_direct, mesh_teardown),
		cmocka_unit_test_teardown(port_restricted_cones_go_direct, mesh_teardown),
		cmocka_unit_test_teardown(two_linux_masquerades_go_direct_despite_the_conntrack_trap, mesh_teardown),
		cmocka_unit_test_teardown(sequential_allocator_is_predicted, mesh_teardown),
		cmocka_unit_test_teardown(symmetric_and_port_restricted_cone_meet_by_birthday_probing, mesh_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
