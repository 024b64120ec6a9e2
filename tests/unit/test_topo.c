/* Topology parser and resolver: shipped topologies parse, bad ones are
 * refused with the line, and addresses and routes come out as designed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "topo/portmap.h"
#include "topo/topo.h"
#include "util/paths.h"
#include "util/text.h"

#include <limits.h>
#include <stdlib.h>

static struct topo_net net;

static void resolve(const char *topology, int n, char *assigns[])
{
	struct topo t;
	char err[512];

	if (topo_load(topology, &t, err, sizeof(err)) || topo_resolve(&t, n, assigns, &net, err, sizeof(err)))
		fail_msg("%s: %s", topology, err);
}

static const char *addr_of(const char *node, int which)
{
	static char buf[4][16];
	static int k;

	k = (k + 1) % 4;
	return text_ipv4(topo_net_addr(&net, node, which), buf[k]);
}

static void every_shipped_topology_parses(void **state)
{
	char names[32][32], err[512];
	struct topo t;
	int n = topo_list(names, 32);

	(void)state;
	assert_true(n >= 6);
	for (int i = 0; i < n; i++)
		if (topo_load(names[i], &t, err, sizeof(err)))
			fail_msg("%s", err);
}

static void two_sites_has_the_promised_hosts_and_addresses(void **state)
{
	char *a[] = { "A=symmetric", "B=full-cone" };

	(void)state;
	resolve("two-sites", 2, a);
	assert_true(topo_find_node(&net.topo, "a") >= 0);
	assert_true(topo_find_node(&net.topo, "b") >= 0);
	assert_true(topo_find_node(&net.topo, "nat-a") >= 0);
	assert_true(topo_find_node(&net.topo, "nat-b") >= 0);
	assert_true(topo_find_node(&net.topo, "internet") >= 0);
	assert_string_equal(addr_of("introducer", 0), "203.0.113.10");
	assert_string_equal(addr_of("introducer", 1), "203.0.113.11");
	assert_string_equal(addr_of("nat-a", 0), "192.0.2.2");
	assert_string_equal(addr_of("nat-b", 0), "192.0.2.10");
	assert_string_equal(addr_of("a", 0), "10.0.1.2");
	assert_string_equal(addr_of("b", 0), "10.0.2.2");
	assert_string_equal(net.nodes[topo_find_node(&net.topo, "nat-a")].model.name, "symmetric");
	/* Private sites are not routed on the internet. */
	assert_int_equal(net.nodes[topo_find_node(&net.topo, "internet")].n_routes, 0);
}

static const char *addr6_of(const char *node)
{
	static char buf[4][46];
	static int k;
	uint8_t a[16];

	k = (k + 1) % 4;
	if (!topo_net_addr6(&net, node, a))
		return "none";
	return text_ipv6(a, buf[k]);
}

/* IPv6 only where a model asks for it; then the internet and every site
 * whose router carries it are dual-stack: a firewall's site on a global
 * /64 routed from above, nptv6's inside prefix seen outside as a global
 * one, nat66's hidden behind the router's address. */
static void dual_stack_where_a_model_has_ipv6(void **state)
{
	char pa[64], pb[64], *a[] = { pa, pb };
	const struct topo_net_node *inet;
	char x[46];

	(void)state;
	resolve("two-sites", 2, (char *[]){ "A=symmetric", "B=full-cone" });
	assert_false(net.ipv6);
	assert_string_equal(addr6_of("a"), "none");
	assert_false(net.nodes[topo_find_node(&net.topo, "introducer")].ipv6);

	snprintf(pa, sizeof(pa), "A=symmetric-ipv6-firewall");
	snprintf(pb, sizeof(pb), "B=symmetric-ipv6-nptv6");
	resolve("two-sites", 2, a);
	assert_true(net.ipv6);
	assert_string_equal(addr6_of("introducer"), "2001:db8:0:1::a");
	assert_string_equal(addr6_of("nat-a"), "2001:db8:0:2::2");
	assert_string_equal(addr6_of("a"), "2001:db8:0:4::2");
	assert_string_equal(addr6_of("b"), "fd00:0:0:5::2");
	inet = &net.nodes[topo_find_node(&net.topo, "internet")];
	assert_int_equal(inet->n_routes6, 2);
	assert_string_equal(text_ipv6(inet->routes6[0].dst, x), "2001:db8:0:4::");
	assert_string_equal(text_ipv6(inet->routes6[1].dst, x), "2001:db8:0:5::");   /* b's outside prefix */
	assert_string_equal(text_ipv6(inet->routes6[1].gw, x), "2001:db8:0:3::2");   /* via nat-b */
	assert_int_equal(net.nodes[topo_find_node(&net.topo, "b")].n_routes6, 1);
	assert_string_equal(text_ipv6(net.nodes[topo_find_node(&net.topo, "b")].routes6[0].gw, x), "fd00:0:0:5::1");

	snprintf(pb, sizeof(pb), "B=symmetric-ipv6-nat66");
	resolve("two-sites", 2, a);
	assert_int_equal(net.nodes[topo_find_node(&net.topo, "internet")].n_routes6, 1);
	/* b's site behind a router without IPv6 has none; the router's uplink does. */
	snprintf(pb, sizeof(pb), "B=symmetric");
	resolve("two-sites", 2, a);
	assert_string_equal(addr6_of("b"), "none");
	assert_false(net.nodes[topo_find_node(&net.topo, "b")].ipv6);
	assert_string_equal(addr6_of("nat-b"), "2001:db8:0:3::2");
}

/* A home router behind an nptv6 carrier: the carrier translates only its
 * own segment, so the home's global prefix is routed past it, up to the
 * internet (it was routed up to the carrier only, and its replies lost). */
static void a_site_nested_below_an_nptv6_router_is_routed_past_it(void **state)
{
	static const char text[] = "param A C\nrouter internet\nrouter carrier nat $C uplink wan-c\n"
				   "router home nat $A uplink carrier-net\nsegment inet 203.0.113.0/24 gateway internet\n"
				   "segment wan-c 192.0.2.0/29 gateway internet\nsegment carrier-net 100.64.0.0/16 gateway carrier\n"
				   "segment site-a 10.0.1.0/24 gateway home\nhost introducer inet address 203.0.113.10\nhost a site-a\n";
	char pa[64], pc[64], *a[] = { pa, pc }, err[512], x[46];
	const struct topo_net_node *inet;
	struct topo t;
	bool routed = false;

	(void)state;
	snprintf(pa, sizeof(pa), "A=symmetric-ipv6-firewall");
	snprintf(pc, sizeof(pc), "C=symmetric-ipv6-nptv6");
	if (topo_parse("nested", text, strlen(text), "nested.topo", &t, err, sizeof(err)) ||
	    topo_resolve(&t, 2, a, &net, err, sizeof(err)))
		fail_msg("%s", err);
	assert_string_equal(addr6_of("a"), "2001:db8:0:4::2");
	inet = &net.nodes[topo_find_node(&net.topo, "internet")];
	for (int i = 0; i < inet->n_routes6; i++)
		routed |= !strcmp(text_ipv6(inet->routes6[i].dst, x), "2001:db8:0:4::") &&
			  !strcmp(text_ipv6(inet->routes6[i].gw, x), "2001:db8:0:2::2");
	assert_true(routed);
}

/* An IPv6-only site (ipv4 = none): its host has IPv6 and no IPv4 address
 * or route, its router no IPv4 on that side, and nothing routes it over
 * IPv4; below a router without IPv6, or as a router's uplink, refused. */
static void an_ipv6_only_site_has_no_ipv4(void **state)
{
	static const char text[] = "param A C\nrouter internet\nrouter carrier nat $C uplink wan-c\n"
				   "router home nat $A uplink carrier-net\nsegment inet 203.0.113.0/24 gateway internet\n"
				   "segment wan-c 192.0.2.0/29 gateway internet\nsegment carrier-net 100.64.0.0/16 gateway carrier\n"
				   "segment site-a 10.0.1.0/24 gateway home\nhost introducer inet address 203.0.113.10\nhost a site-a\n";
	char pa[64], pc[64], *a[] = { pa, pc }, err[512];
	const struct topo_net_node *na, *nat_a;
	struct topo t;

	(void)state;
	resolve("two-sites", 2, (char *[]){ "A=ipv6-only", "B=symmetric-ipv6-firewall" });
	na = &net.nodes[topo_find_node(&net.topo, "a")];
	nat_a = &net.nodes[topo_find_node(&net.topo, "nat-a")];
	assert_true(na->no_ipv4);
	assert_int_equal(topo_net_addr(&net, "a", 0), 0);
	assert_int_equal(na->ifaces[0].n_addrs, 0);
	assert_int_equal(na->n_routes, 0);
	assert_string_equal(addr6_of("a"), "2001:db8:0:4::2");
	assert_int_equal(na->n_routes6, 1);
	for (int f = 0; f < nat_a->n_ifaces; f++)
		if (nat_a->ifaces[f].bridge)
			assert_int_equal(nat_a->ifaces[f].n_addrs, 0);
	assert_string_equal(addr_of("nat-a", 0), "192.0.2.2");   /* its uplink keeps IPv4 */
	assert_int_equal(net.nodes[topo_find_node(&net.topo, "internet")].n_routes, 0);
	assert_false(net.nodes[topo_find_node(&net.topo, "b")].no_ipv4);
	assert_string_equal(addr_of("b", 0), "10.0.2.2");
	/* Below a carrier without IPv6 there is nothing left. */
	assert_int_equal(topo_parse("nested", text, strlen(text), "nested.topo", &t, err, sizeof(err)), 0);
	snprintf(pa, sizeof(pa), "A=ipv6-only");
	snprintf(pc, sizeof(pc), "C=cgnat");
	assert_int_equal(topo_resolve(&t, 2, a, &net, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "segment site-a is IPv6-only (ipv4 = none), but a router above it carries no IPv6"));
	/* A router's uplink cannot be IPv6-only. */
	snprintf(pa, sizeof(pa), "A=symmetric-ipv6-firewall");
	snprintf(pc, sizeof(pc), "C=ipv6-only");
	assert_int_equal(topo_resolve(&t, 2, a, &net, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "router home sits on IPv6-only segment carrier-net"));
}

static void a_wan_names_the_uplink_of_a_s_nat(void **state)
{
	char *a[] = { "A=symmetric", "B=full-cone" };

	(void)state;
	resolve("two-sites", 2, a);
	assert_int_equal(topo_find_link(&net.topo, "a-wan"), topo_find_node(&net.topo, "nat-a"));
	assert_int_equal(topo_find_link(&net.topo, "nat-b-wan"), topo_find_node(&net.topo, "nat-b"));
	assert_int_equal(topo_find_link(&net.topo, "a"), topo_find_node(&net.topo, "a"));
	assert_int_equal(topo_find_link(&net.topo, "zz-wan"), -1);
}

static void open_site_gets_public_addresses_routed_from_the_internet(void **state)
{
	char *a[] = { "A=open", "B=full-cone" };
	const struct topo_net_node *inet;

	(void)state;
	resolve("two-sites", 2, a);
	assert_string_equal(addr_of("a", 0), "198.51.100.2");
	inet = &net.nodes[topo_find_node(&net.topo, "internet")];
	assert_int_equal(inet->n_routes, 1);
	assert_int_equal(inet->routes[0].dst, htonl(0xc6336400)); /* 198.51.100.0 */
	assert_int_equal(inet->routes[0].plen, 28);
}

static void carrier_segment_takes_the_inside_prefix(void **state)
{
	char *a[] = { "M=cgnat" };

	(void)state;
	resolve("nat-probe", 1, a);
	assert_string_equal(addr_of("client", 0), "100.64.0.2");
}

static void same_carrier_homes_are_carrier_subscribers(void **state)
{
	char *a[] = { "A=full-cone", "B=symmetric" };

	(void)state;
	resolve("same-carrier", 2, a);
	assert_string_equal(addr_of("nat-a", 0), "100.64.0.2");
	assert_string_equal(addr_of("nat-b", 0), "100.64.0.3");
	assert_string_equal(addr_of("carrier", 0), "192.0.2.2");
}

static void parameters_must_all_be_bound(void **state)
{
	struct topo t;
	char err[512], *one[] = { "A=full-cone" }, *bad[] = { "A=full-cone", "B=full-cone", "C=x" },
		       *nomodel[] = { "A=no-such", "B=full-cone" };

	(void)state;
	assert_int_equal(topo_load("two-sites", &t, err, sizeof(err)), 0);
	assert_int_equal(topo_resolve(&t, 1, one, &net, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "needs B=MODEL"));
	assert_int_equal(topo_resolve(&t, 3, bad, &net, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "\"C=x\" does not bind a parameter"));
	assert_int_not_equal(topo_resolve(&t, 2, nomodel, &net, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "no NAT model \"no-such\""));
	/* Issue 14: bare models bind the parameters in order, as `expect`
	 * takes them; with names they may come in any order. */
	{
		char *bare[] = { "symmetric", "full-cone" }, *mixed[] = { "B=open", "symmetric" }, *three[] = { "a", "b", "c" };
		int a, b;
		assert_int_equal(topo_resolve(&t, 2, bare, &net, err, sizeof(err)), 0);
		a = topo_find_node(&net.topo, "nat-a");
		b = topo_find_node(&net.topo, "nat-b");
		assert_string_equal(net.nodes[a].model.name, "symmetric");
		assert_string_equal(net.nodes[b].model.name, "full-cone");
		assert_int_equal(topo_resolve(&t, 2, mixed, &net, err, sizeof(err)), 0);
		assert_string_equal(net.nodes[a].model.name, "symmetric");
		assert_string_equal(net.nodes[b].model.name, "open");
		assert_int_equal(topo_resolve(&t, 3, three, &net, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "\"c\" does not bind a parameter; it takes A=MODEL B=MODEL"));
	}
}

static void bad_topologies_are_refused_with_the_line(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "router r\nsegment s 10.0.0.0/24 gateway r\nhost h s\nwidget w\n", ":4: unknown statement \"widget\"" },
		{ "router r\nrouter r\n", ":2: name \"r\" is used twice" },
		{ "router r\nsegment s 10.0.0.1/24 gateway r\n", ":2: segment s: \"10.0.0.1/24\" has host bits set: the network is 10.0.0.0/24" },
		/* Issue 14: a prefix with host bits was "not /8 to /30". */
		{ "router r\nsegment s 203.0.113.0/16 gateway r\n", "has host bits set: the network is 203.0.0.0/16" },
		{ "router r\nsegment s 10.0.0.0/31 gateway r\n", "a segment's prefix is /8 to /30" },
		{ "router r\nsegment s ten/8 gateway r\n", "is not a network prefix such as 10.0.1.0/24" },
		/* Issue 14: overlapping segments, one prefix twice, a host on its
		 * gateway's address built broken networks. */
		{ "router r\nrouter q uplink s\nsegment s 10.0.0.0/16 gateway r\nsegment t 10.0.1.0/24 gateway q\nhost h t\n",
		  ":4: segments s (10.0.0.0/16) and t (10.0.1.0/24) overlap in one address realm (the internet)" },
		{ "router r\nrouter q uplink s\nsegment s 10.0.0.0/24 gateway r\nsegment t 10.0.0.0/24 gateway q\nhost h t\n",
		  "segments s (10.0.0.0/24) and t (10.0.0.0/24) overlap" },
		{ "router r\nsegment s 10.0.0.0/24 gateway r\nhost h s address 10.0.0.1\n",
		  ":3: 10.0.0.1 of h is its gateway's address" },
		{ "router r\nsegment s 10.0.0.0/24 gateway r\nhost h s address 10.0.0.255\n", "the segment's broadcast address" },
		{ "router r\nsegment s 10.0.0.0/24 gateway r\nhost h s address 10.0.0.0\n", "the segment's network address" },
		{ "router r\nsegment s 10.0.0.0/24 gateway h\nhost h s\n", ":2: gateway \"h\" of segment s is not a router" },
		{ "router r\nsegment s 10.0.0.0/24 gateway r\nhost h nowhere\n", ":3: no segment \"nowhere\"" },
		{ "router r nat $X\n", ":1: parameter $X is not declared" },
		{ "router r\nsegment s 10.0.0.0/24 gateway r\nhost h s address 10.9.0.1\n", ":3: an address of h is outside its segment" },
		{ "router r\nrouter q\nsegment s 10.0.0.0/24 gateway r\nsegment t 10.0.1.0/24 gateway q\n", "exactly one router without an uplink" },
		{ "router r\n", ":1: router r is the gateway of no segment" },
		{ "router UPPER\n", ":1: bad name \"UPPER\"" },
		{ "router averyveryverylongname\n", "bad name" },
		{ "", "no hosts or routers" },
	};
	struct topo t;
	char err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(topo_parse("t", cases[i].text, strlen(cases[i].text), "topologies/t.topo", &t, err,
					    sizeof(err)),
				 -EINVAL);
		if (!strstr(err, cases[i].want))
			fail_msg("case %zu: \"%s\" does not contain \"%s\"", i, err, cases[i].want);
	}
}

/* Behind two different NATs the same private prefix is fine (two homes
 * on 10.0.1.0/24), and so is a NAT's inside prefix overlapping the
 * internet's addresses. */
static void one_prefix_behind_two_nats_is_allowed(void **state)
{
	static const char text[] = "param A B\nrouter internet\nrouter nat-a nat $A uplink wan\n"
				   "router nat-b nat $B uplink wan\nsegment wan 192.0.2.0/24 gateway internet\n"
				   "segment home-a 10.0.1.0/24 gateway nat-a\nsegment home-b 10.0.1.0/24 gateway nat-b\n"
				   "host a home-a\nhost b home-b\n";
	struct topo t;
	char err[512] = "";

	(void)state;
	if (topo_parse("t", text, strlen(text), "t.topo", &t, err, sizeof(err)))
		fail_msg("%s", err);
}

/* A name that is not a topology's is refused as such, whatever its
 * length (a short one with other characters passed: `&&` for `||`). */
/* A router with portmap: miniupnpd's file says where it listens, what it
 * may map for whom, where its rules go, and how it learns its address. */
static void a_portmap_router_s_daemon_is_configured_for_its_lan(void **state)
{
	char a[] = "A=symmetric-upnp", b[] = "B=full-cone", *assigns[] = { a, b }, *text = NULL;
	size_t len = 0;
	int router = -1;
	FILE *f;

	(void)state;
	resolve("two-sites", 2, assigns);
	for (int i = 0; i < net.topo.n_nodes; i++)
		if (!strcmp(net.topo.nodes[i].name, "nat-a"))
			router = i;
	assert_true(router >= 0);
	assert_non_null(f = open_memstream(&text, &len));
	portmap_write_conf(&net, router, "abc123", "/run/punchlab/abc123", f);
	fclose(f);
	assert_non_null(strstr(text, "\next_ifname=wan\n"));
	assert_non_null(strstr(text, "\nlistening_ip=site-a\n"));
	assert_non_null(strstr(text, "\next_perform_stun=yes\next_stun_host=192.0.2.2\next_stun_port=3480\n"));
	assert_non_null(strstr(text, "\nenable_upnp=yes\nenable_natpmp=yes\n"));
	assert_non_null(strstr(text, "\nlease_file=/run/punchlab/abc123/miniupnpd-nat-a.leases\n"));
	assert_non_null(strstr(text, "\nupnp_table_name=punchlab-pmap\n"));
	assert_non_null(strstr(text, "\nallow 1024-65535 10.0.1.0/24 1024-65535\ndeny 0-65535 0.0.0.0/0 0-65535\n"));
	free(text);
}

static void a_topology_name_with_other_characters_is_refused(void **state)
{
	static const char *const bad[] = { "Two Sites", "two;sites", "..", "-x", "two_sites", "" };
	static struct topo t;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(topo_load(bad[i], &t, err, sizeof(err)), -EINVAL);
		if (!strstr(err, "is not a topology name"))
			fail_msg("\"%s\": %s", bad[i], err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_shipped_topology_parses),
		cmocka_unit_test(a_portmap_router_s_daemon_is_configured_for_its_lan),
		cmocka_unit_test(a_topology_name_with_other_characters_is_refused),
		cmocka_unit_test(two_sites_has_the_promised_hosts_and_addresses),
		cmocka_unit_test(dual_stack_where_a_model_has_ipv6),
		cmocka_unit_test(an_ipv6_only_site_has_no_ipv4),
		cmocka_unit_test(a_site_nested_below_an_nptv6_router_is_routed_past_it),
		cmocka_unit_test(a_wan_names_the_uplink_of_a_s_nat),
		cmocka_unit_test(open_site_gets_public_addresses_routed_from_the_internet),
		cmocka_unit_test(carrier_segment_takes_the_inside_prefix),
		cmocka_unit_test(same_carrier_homes_are_carrier_subscribers),
		cmocka_unit_test(parameters_must_all_be_bound),
		cmocka_unit_test(bad_topologies_are_refused_with_the_line),
		cmocka_unit_test(one_prefix_behind_two_nats_is_allowed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
