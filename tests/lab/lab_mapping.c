/* Mapping behaviour read from the far side's view of real packets (plain
 * sockets on the internet host), never from our own rules. */
#include "lab.h"

#define SINK_PORT 7000

static struct lab lab;

static void up(const char *model)
{
	lab_up_probe(&lab, model);
}

static void symmetric_sequential_steps_external_ports_by_one_over_20_flows(void **state)
{
	uint32_t far;
	int sink, seen[20];

	(void)state;
	up("symmetric-sequential");
	far = lab_addr(&lab, "stun", 0);
	sink = lab_udp(&lab, "stun", far, SINK_PORT);
	for (int i = 0; i < 20; i++) {
		int fd = lab_udp(&lab, "client", 0, 0);
		seen[i] = lab_seen_port(fd, sink, far, SINK_PORT);
		close(fd);
	}
	for (int i = 1; i < 20; i++)
		if (seen[i] - seen[i - 1] != 1)
			fail_msg("flow %d got external port %d after %d: not a step of 1", i, seen[i], seen[i - 1]);
	close(sink);
	lab_down(&lab);
}

static void address_restricted_mapping_varies_by_address_not_by_port(void **state)
{
	uint32_t a1, a2;
	int s1, s2, s3;

	(void)state;
	up("address-restricted-mapping");
	a1 = lab_addr(&lab, "stun", 0);
	a2 = lab_addr(&lab, "stun", 1);
	s1 = lab_udp(&lab, "stun", a1, SINK_PORT);
	s2 = lab_udp(&lab, "stun", a1, SINK_PORT + 1);
	s3 = lab_udp(&lab, "stun", a2, SINK_PORT);
	for (int round = 0; round < 5; round++) {
		int fd = lab_udp(&lab, "client", 0, 0);
		uint16_t p1 = lab_seen_port(fd, s1, a1, SINK_PORT);
		uint16_t p2 = lab_seen_port(fd, s2, a1, SINK_PORT + 1);
		uint16_t p3 = lab_seen_port(fd, s3, a2, SINK_PORT);

		assert_int_equal(p1, p2); /* same address, other port: same mapping */
		assert_int_not_equal(p1, p3); /* other address: a new mapping */
		close(fd);
	}
	close(s1);
	close(s2);
	close(s3);
	lab_down(&lab);
}

/* A peer's early packet reaches the NAT before the inside host has sent to
 * that peer; then the inside host sends to the peer. Returns whether the
 * external port the peer sees is the one the host already had. */
static bool mapping_survives_unsolicited_packet(const char *model)
{
	uint32_t a1, a2, pub;
	int sink, peer, host;
	uint16_t before, after;
	char buf[32];

	up(model);
	a1 = lab_addr(&lab, "stun", 0);
	a2 = lab_addr(&lab, "stun", 1);
	pub = lab_addr(&lab, "nat", 0);
	sink = lab_udp(&lab, "stun", a1, SINK_PORT);
	peer = lab_udp(&lab, "stun", a2, SINK_PORT + 1);
	host = lab_udp(&lab, "client", 0, 0);
	before = lab_seen_port(host, sink, a1, SINK_PORT);
	lab_send(peer, pub, before, "early punch", 11);
	/* Filtered: the host must not receive it. */
	assert_true(lab_recv(host, buf, sizeof(buf), 200, NULL, NULL) < 0);
	after = lab_seen_port(host, peer, a2, SINK_PORT + 1);
	print_message("%s: mapping %u before the unsolicited packet, %u after\n", model, before, after);
	close(sink);
	close(peer);
	close(host);
	lab_down(&lab);
	return before == after;
}

static void linux_masquerade_moves_the_mapping_after_an_unsolicited_packet(void **state)
{
	(void)state;
	assert_false(mapping_survives_unsolicited_packet("linux-masquerade"));
}

static void port_restricted_cone_keeps_the_mapping_after_an_unsolicited_packet(void **state)
{
	(void)state;
	assert_true(mapping_survives_unsolicited_packet("port-restricted-cone"));
}

static void full_cone_lets_a_stranger_reach_a_mapping(void **state)
{
	uint32_t a1, a2, pub, from;
	int sink, stranger, host;
	uint16_t mapped;
	char buf[32];

	(void)state;
	up("full-cone");
	a1 = lab_addr(&lab, "stun", 0);
	a2 = lab_addr(&lab, "stun", 1);
	pub = lab_addr(&lab, "nat", 0);
	sink = lab_udp(&lab, "stun", a1, SINK_PORT);
	stranger = lab_udp(&lab, "stun", a2, 9999);
	host = lab_udp(&lab, "client", 0, 0);
	mapped = lab_seen_port(host, sink, a1, SINK_PORT);
	lab_send(stranger, pub, mapped, "hello", 5);
	assert_int_equal(lab_recv(host, buf, sizeof(buf), 1000, &from, NULL), 5);
	assert_int_equal(from, a2);
	close(sink);
	close(stranger);
	close(host);
	lab_down(&lab);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(symmetric_sequential_steps_external_ports_by_one_over_20_flows, lab_teardown),
		cmocka_unit_test_teardown(address_restricted_mapping_varies_by_address_not_by_port, lab_teardown),
		cmocka_unit_test_teardown(linux_masquerade_moves_the_mapping_after_an_unsolicited_packet, lab_teardown),
		cmocka_unit_test_teardown(port_restricted_cone_keeps_the_mapping_after_an_unsolicited_packet, lab_teardown),
		cmocka_unit_test_teardown(full_cone_lets_a_stranger_reach_a_mapping, lab_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
