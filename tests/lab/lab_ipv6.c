/* IPv6 in the lab (model key ipv6): sites are dual-stack where their
 * router's model says so, and each router's IPv6 side is met with real
 * packets. A firewall lets in what answers the inside's own traffic and
 * nothing else; a symmetric pair that IPv4 relays punches through two
 * firewalls over IPv6; NPTv6 shows the outside prefix and keeps the port;
 * NAT66 shows the router's address; a site whose router has no IPv6 has
 * none. expect says the same for each. */
#include "lab.h"
#include "expect/topology.h"
#include "fault/fault.h"
#include "runner/meter.h"

/* limit: 120 s */

#define A_PORT 5000
#define B_PORT 6000
#define I_PORT 7000

static struct lab l;

/* two-sites with models A and B. */
static void up(const char *a, const char *b)
{
	char pa[64], pb[64], *assigns[] = { pa, pb };

	snprintf(pa, sizeof(pa), "A=%s", a);
	snprintf(pb, sizeof(pb), "B=%s", b);
	lab_up(&l, "two-sites", 2, assigns);
}

static void addr6(const char *node, uint8_t out[16])
{
	assert_true(topo_net_addr6(&l.net, node, out));
}

/* Sent from fd to to:port, it reaches sink (three tries a second apart);
 * from and fport: where sink saw it come from. */
static bool arrives(int fd, const uint8_t to[16], uint16_t port, int sink, uint8_t from[16], uint16_t *fport)
{
	char buf[64];

	for (int t = 0; t < 3; t++) {
		assert_true(lab_send6(fd, to, port, "hello", 5));
		if (lab_recv6(sink, buf, sizeof(buf), 1000, from, fport) == 5)
			return true;
	}
	return false;
}

/* Sent from fd to to:port, it does not reach sink (half a second). */
static bool kept_out(int fd, const uint8_t to[16], uint16_t port, int sink)
{
	char buf[64];

	assert_true(lab_send6(fd, to, port, "stranger", 8));
	return lab_recv6(sink, buf, sizeof(buf), 500, NULL, NULL) < 0;
}

static void expect_ipv6(bool direct, enum expect_technique how, const char *why)
{
	struct expect_result r;

	assert_int_equal(expect_topology_ipv6(&l.net, "a", "b", false, &r), 0);
	if (r.direct != direct || r.technique != how || !strstr(r.why, why))
		fail_msg("expect over IPv6: %s by %s (%s)", r.direct ? "direct" : "relay", expect_technique_name(r.technique),
			 r.why);
}

/* a sends to the introducer's host (on the internet, no firewall), which
 * sees it come from `seen` (and from A_PORT where the port is kept); the
 * answer comes back to a, a stranger's (another port of that host) does
 * not. before: nor did the introducer's own before a sent. */
static void out_and_back(const uint8_t seen[16], bool port_kept, bool before)
{
	uint8_t intro[16], from[16];
	uint16_t fport = 0;
	int as = lab_udp6(&l, "a", A_PORT), is = lab_udp6(&l, "introducer", I_PORT),
	    is2 = lab_udp6(&l, "introducer", I_PORT + 1);

	addr6("introducer", intro);
	if (before)
		assert_true(kept_out(is, seen, A_PORT, as));
	assert_true(arrives(as, intro, I_PORT, is, from, &fport));
	assert_memory_equal(from, seen, 16);
	if (port_kept)
		assert_int_equal(fport, A_PORT);
	assert_true(arrives(is, seen, fport, as, NULL, NULL));
	assert_true(kept_out(is2, seen, fport, as));
	close(as);
	close(is);
	close(is2);
}

/* a behind an IPv6 firewall; the introducer's host, on the internet,
 * has none: nothing it sends comes in until a sent to it, then only from
 * the address and port a sent to, and a's address and port are its own. */
static void a_firewall_lets_in_replies_and_nothing_else(void **state)
{
	uint8_t a[16];

	(void)state;
	up("symmetric-ipv6-firewall", "symmetric-ipv6-firewall");
	addr6("a", a);
	out_and_back(a, true, true);
	lab_down(&l);
}

/* a's first datagram to b dies at b's firewall but opens a's; b's then
 * comes in, and opens b's for a's next: each seen from the other's own
 * address and port. Where a and b meet, the counters saw it all over
 * IPv6. */
static void punch_through_firewalls(struct meter *m)
{
	uint8_t a[16], b[16], from[16];
	uint16_t fport = 0;
	uint64_t direct = 0, relay = 0, direct6 = 0;
	int as, bs;

	addr6("a", a);
	addr6("b", b);
	as = lab_udp6(&l, "a", A_PORT);
	bs = lab_udp6(&l, "b", B_PORT);
	assert_true(kept_out(as, b, B_PORT, bs));
	assert_true(arrives(bs, a, A_PORT, as, from, &fport));
	assert_memory_equal(from, b, 16);
	assert_int_equal(fport, B_PORT);
	assert_true(arrives(as, b, B_PORT, bs, from, &fport));
	assert_memory_equal(from, a, 16);
	assert_int_equal(fport, A_PORT);
	assert_int_equal(meter_read(m, "a", "b", &direct, &relay), 0);
	assert_int_equal(meter_read6(m, "a", "b", &direct6), 0);
	print_message("direct %llu bytes, %llu of them over IPv6\n", (unsigned long long)direct, (unsigned long long)direct6);
	assert_true(direct6 >= 3 * (40 + 8 + 5) && direct == direct6);
	close(as);
	close(bs);
}

/* Symmetric over IPv4 on both sides (relayed), firewalls over IPv6. */
static void a_symmetric_pair_punches_through_two_ipv6_firewalls(void **state)
{
	struct expect_result r4;
	struct meter m;
	char err[256];

	(void)state;
	up("symmetric-ipv6-firewall", "symmetric-ipv6-firewall");
	if (meter_install(&m, &l.net, &l.inst, (const char *const[]){ "a", "b" }, 2, 0, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(expect_topology(&l.net, "a", "b", &r4), 0);
	assert_false(r4.direct);
	expect_ipv6(true, EXPECT_PUNCH, "");
	punch_through_firewalls(&m);
	lab_down(&l);
}

/* fault link down and up on a's router: its IPv6 address and routes
 * come back with the link, as IPv4's do (the address went with the link
 * and no route was put back). */
static void ipv6_comes_back_with_a_router_s_link(void **state)
{
	uint8_t intro[16];
	char err[256];
	int as, is;

	(void)state;
	up("symmetric-ipv6-firewall", "symmetric-ipv6-firewall");
	addr6("introducer", intro);
	if (fault_apply(&l.inst, "link", "nat-a", "down", err, sizeof(err)) ||
	    fault_apply(&l.inst, "link", "nat-a", "up", err, sizeof(err)))
		fail_msg("%s", err);
	as = lab_udp6(&l, "a", A_PORT);
	is = lab_udp6(&l, "introducer", I_PORT);
	assert_true(arrives(as, intro, I_PORT, is, NULL, NULL));
	close(as);
	close(is);
	lab_down(&l);
}

/* fault mapping-expire on a's router forgets its IPv6 flows too: the
 * way back a's packet opened is shut (it was left open: only IPv4's
 * entries were deleted). */
static void an_expired_mapping_closes_the_ipv6_way_back(void **state)
{
	uint8_t a[16], intro[16];
	char err[256];
	int as, is;

	(void)state;
	up("symmetric-ipv6-firewall", "symmetric-ipv6-firewall");
	addr6("a", a);
	addr6("introducer", intro);
	as = lab_udp6(&l, "a", A_PORT);
	is = lab_udp6(&l, "introducer", I_PORT);
	assert_true(arrives(as, intro, I_PORT, is, NULL, NULL));
	if (fault_apply(&l.inst, "mapping-expire", "nat-a", NULL, err, sizeof(err)))
		fail_msg("%s", err);
	assert_true(kept_out(is, a, A_PORT, as));
	close(as);
	close(is);
	lab_down(&l);
}

/* fault roam moves a to b's dual-stack LAN: a gets an IPv6 address
 * there (its place in that prefix) and a route, and is seen from it (it
 * had its old IPv6 address's place in nothing: no address at all). */
static void a_host_that_roams_gets_ipv6_where_it_lands(void **state)
{
	uint8_t a[16], b[16];
	char err[256];

	(void)state;
	up("symmetric-ipv6-firewall", "symmetric-ipv6-firewall");
	if (fault_apply(&l.inst, "roam", "a", "site-b", err, sizeof(err)))
		fail_msg("%s", err);
	topo_net_apply_roams(&l.net, &l.inst);
	addr6("a", a);
	addr6("b", b);
	assert_memory_equal(a, b, 8);              /* on b's prefix now */
	assert_memory_not_equal(a, b, 16);
	out_and_back(a, true, true);
	lab_down(&l);
}

/* NPTv6: a's inside address (fd00::) leaves as the same host on the
 * router's outside prefix (2001:db8::), port kept; replies come back to
 * it; strangers do not. */
static void nptv6_shows_the_outside_prefix_and_keeps_the_port(void **state)
{
	uint8_t a[16], outside[16];
	int s;

	(void)state;
	up("symmetric-ipv6-nptv6", "symmetric-ipv6-firewall");
	expect_ipv6(true, EXPECT_PUNCH, "");
	addr6("a", a);
	assert_int_equal(a[0], 0xfd);
	s = l.net.topo.nodes[topo_find_node(&l.net.topo, "a")].segment;
	memcpy(outside, l.net.seg_outside6[s], 8);
	memcpy(outside + 8, a + 8, 8);
	out_and_back(outside, true, true);
	lab_down(&l);
}

/* NAT66: a is seen from its router's IPv6 address. */
static void nat66_shows_the_router_s_address(void **state)
{
	uint8_t router[16];

	(void)state;
	up("symmetric-ipv6-nat66", "symmetric-ipv6-firewall");
	expect_ipv6(true, EXPECT_PUNCH_OPENERS, "");
	addr6("nat-a", router);
	out_and_back(router, false, false);
	lab_down(&l);
}

/* A router without IPv6 (ipv6 = none, the default) leaves its site
 * without: a cannot send over IPv6 at all, while b, dual-stack, reaches
 * the internet; expect says why. */
static void a_site_without_ipv6_has_none(void **state)
{
	uint8_t a[16], intro[16];
	int as, bs, is;

	(void)state;
	up("symmetric", "symmetric-ipv6-firewall");
	assert_false(topo_net_addr6(&l.net, "a", a));
	expect_ipv6(false, EXPECT_NONE, "no IPv6 on a's side");
	addr6("introducer", intro);
	as = lab_udp6(&l, "a", A_PORT);
	bs = lab_udp6(&l, "b", B_PORT);
	is = lab_udp6(&l, "introducer", I_PORT);
	assert_false(lab_send6(as, intro, I_PORT, "hello", 5));
	assert_true(arrives(bs, intro, I_PORT, is, NULL, NULL));
	close(as);
	close(bs);
	close(is);
	lab_down(&l);
}

/* An IPv6-only site (ipv4 = none): a has no IPv4 address or route at all
 * (an IPv4 datagram cannot even leave), and meets b, dual-stack behind a
 * firewall, directly over IPv6, as expect says; b keeps its IPv4. */
static void an_ipv6_only_site_reaches_a_dual_stack_peer_directly(void **state)
{
	struct expect_result r4;
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(I_PORT) };
	struct meter m;
	char err[256];
	int a4, b4, is4;

	(void)state;
	up("ipv6-only", "symmetric-ipv6-firewall");
	if (meter_install(&m, &l.net, &l.inst, (const char *const[]){ "a", "b" }, 2, 0, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(topo_net_addr(&l.net, "a", 0), 0);
	assert_int_equal(expect_topology(&l.net, "a", "b", &r4), 0);
	assert_false(r4.direct);
	assert_non_null(strstr(r4.why, "no IPv4 on a's side"));
	expect_ipv6(true, EXPECT_PUNCH, "");
	to.sin_addr.s_addr = topo_net_addr(&l.net, "introducer", 0);
	a4 = lab_udp(&l, "a", 0, A_PORT);
	assert_int_equal(sendto(a4, "v4", 2, 0, (struct sockaddr *)&to, sizeof(to)), -1);
	assert_int_equal(errno, ENETUNREACH);
	b4 = lab_udp(&l, "b", 0, B_PORT);
	is4 = lab_udp(&l, "introducer", to.sin_addr.s_addr, I_PORT);
	lab_send(b4, to.sin_addr.s_addr, I_PORT, "v4", 2);
	assert_int_equal(lab_recv(is4, err, sizeof(err), 2000, NULL, NULL), 2);
	punch_through_firewalls(&m);
	close(a4);
	close(b4);
	close(is4);
	lab_down(&l);
}

/* port-exhaust on a NAT66 router takes its IPv6 ports too, counted apart
 * from IPv4's: with all but two taken, two new IPv6 flows get out and a
 * third does not, until they are given back; a firewall's IPv6 has no
 * ports to take. */
static void port_exhaust_takes_a_nat66_routers_ipv6_ports_too(void **state)
{
	uint8_t intro[16];
	int is, fa[4], fb[3];
	char err[512];

	(void)state;
	up("symmetric-ipv6-nat66", "symmetric-ipv6-firewall");
	addr6("introducer", intro);
	is = lab_udp6(&l, "introducer", I_PORT);
	for (int i = 0; i < 4; i++)
		fa[i] = lab_udp6(&l, "a", (uint16_t)(A_PORT + i));
	for (int i = 0; i < 3; i++)
		fb[i] = lab_udp6(&l, "b", (uint16_t)(B_PORT + i));
	if (fault_apply(&l.inst, "port-exhaust", "nat-a", "64510", err, sizeof(err)) ||
	    fault_apply(&l.inst, "port-exhaust", "nat-b", "64510", err, sizeof(err)))
		fail_msg("%s", err);
	assert_true(arrives(fa[0], intro, I_PORT, is, NULL, NULL));
	assert_true(arrives(fa[1], intro, I_PORT, is, NULL, NULL));
	assert_false(arrives(fa[2], intro, I_PORT, is, NULL, NULL));
	for (int i = 0; i < 3; i++)
		assert_true(arrives(fb[i], intro, I_PORT, is, NULL, NULL));
	if (fault_apply(&l.inst, "port-exhaust", "nat-a", "0", err, sizeof(err)))
		fail_msg("%s", err);
	assert_true(arrives(fa[3], intro, I_PORT, is, NULL, NULL));
	close(is);
	for (int i = 0; i < 4; i++)
		close(fa[i]);
	for (int i = 0; i < 3; i++)
		close(fb[i]);
	lab_down(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(a_firewall_lets_in_replies_and_nothing_else, lab_teardown),
		cmocka_unit_test_teardown(a_symmetric_pair_punches_through_two_ipv6_firewalls, lab_teardown),
		cmocka_unit_test_teardown(nptv6_shows_the_outside_prefix_and_keeps_the_port, lab_teardown),
		cmocka_unit_test_teardown(nat66_shows_the_router_s_address, lab_teardown),
		cmocka_unit_test_teardown(ipv6_comes_back_with_a_router_s_link, lab_teardown),
		cmocka_unit_test_teardown(an_expired_mapping_closes_the_ipv6_way_back, lab_teardown),
		cmocka_unit_test_teardown(a_host_that_roams_gets_ipv6_where_it_lands, lab_teardown),
		cmocka_unit_test_teardown(a_site_without_ipv6_has_none, lab_teardown),
		cmocka_unit_test_teardown(an_ipv6_only_site_reaches_a_dual_stack_peer_directly, lab_teardown),
		cmocka_unit_test_teardown(port_exhaust_takes_a_nat66_routers_ipv6_ports_too, lab_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
