/* Expected paths: the verdict for every kind of pair, and for the shipped
 * topologies' shapes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "expect/topology.h"
#include "topo/topo.h"
#include "util/paths.h"

#include <limits.h>

static const struct {
	const char *a, *b;
	bool direct;
	enum expect_technique how;
} two_sites[] = {
	{ "full-cone", "full-cone", true, EXPECT_PUNCH },
	{ "port-restricted-cone", "port-restricted-cone", true, EXPECT_PUNCH },
	{ "linux-masquerade", "restricted-cone", true, EXPECT_PUNCH },
	{ "linux-masquerade", "full-cone", true, EXPECT_PUNCH },
	/* The conntrack trap: a punch that arrives before its side has sent
	 * moves the next mapping, and a filter by port drops the new one. */
	{ "linux-masquerade", "linux-masquerade", true, EXPECT_PUNCH_OPENERS },
	{ "linux-masquerade", "port-restricted-cone", true, EXPECT_PUNCH_OPENERS },
	{ "cgnat", "linux-masquerade", true, EXPECT_PUNCH_OPENERS },
	{ "symmetric", "linux-masquerade", true, EXPECT_BIRTHDAY },
	/* A router that maps a port on request: where nothing else would do. */
	{ "symmetric", "symmetric-upnp", true, EXPECT_PORTMAP },
	{ "port-restricted-cone", "symmetric-upnp", true, EXPECT_PORTMAP },
	{ "full-cone", "symmetric-upnp", true, EXPECT_PUNCH },
	{ "udp-blocked", "symmetric-upnp", false, EXPECT_NONE },
	{ "cgnat", "port-restricted-cone", true, EXPECT_PUNCH },
	{ "symmetric", "full-cone", true, EXPECT_PUNCH },
	{ "symmetric", "restricted-cone", true, EXPECT_PUNCH },
	{ "address-restricted-mapping", "restricted-cone", true, EXPECT_PUNCH },
	{ "symmetric", "port-restricted-cone", true, EXPECT_BIRTHDAY },
	{ "port-restricted-cone", "address-restricted-mapping", true, EXPECT_BIRTHDAY },
	{ "symmetric-sequential", "linux-masquerade", true, EXPECT_PREDICTION },
	{ "symmetric-sequential", "symmetric-sequential", true, EXPECT_PREDICTION },
	{ "symmetric", "symmetric", false, EXPECT_NONE },
	{ "symmetric", "symmetric-sequential", false, EXPECT_NONE },
	{ "address-restricted-mapping", "symmetric", false, EXPECT_NONE },
	{ "open", "symmetric", true, EXPECT_OPEN },
	{ "open", "open", true, EXPECT_OPEN },
	{ "udp-blocked", "full-cone", false, EXPECT_NONE },
	{ "open", "udp-blocked", false, EXPECT_NONE },
};

/* "A=MODEL". */
static void assign(char *buf, size_t len, const char *param, const char *model)
{
	snprintf(buf, len, "%s=%s", param, model);
}

static bool verdict_for(const char *topology, int n, char *params[], struct expect_result *r)
{
	struct topo t;
	static struct topo_net net;
	char err[512];

	if (topo_load(topology, &t, err, sizeof(err)) || topo_resolve(&t, n, params, &net, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(expect_topology(&net, "a", "b", r), 0);
	return r->direct;
}

/* Per address family: where both sides have IPv6 behind a firewall (or
 * NPTv6) a symmetric pair that IPv4 relays punches directly over IPv6;
 * NAT66 is Linux's masquerade; a side without IPv6 has no IPv6 path. */
static void ipv6_is_judged_on_its_own(void **state)
{
	static const struct {
		const char *a, *b;
		bool direct;
		enum expect_technique how;
		const char *why;
	} pairs[] = {
		{ "symmetric-ipv6-firewall", "symmetric-ipv6-firewall", true, EXPECT_PUNCH, "" },
		{ "symmetric-ipv6-nptv6", "symmetric-ipv6-firewall", true, EXPECT_PUNCH, "" },
		{ "symmetric-ipv6-nat66", "symmetric-ipv6-firewall", true, EXPECT_PUNCH_OPENERS, "" },
		{ "symmetric-ipv6-nat66", "symmetric-ipv6-nat66", true, EXPECT_PUNCH_OPENERS, "" },
		{ "symmetric-ipv6-firewall", "symmetric", false, EXPECT_NONE, "no IPv6 on b's side" },
	};
	static struct topo_net net;

	(void)state;
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		char pa[PATH_MAX + 8], pb[PATH_MAX + 8], *params[] = { pa, pb }, err[512];
		struct expect_result r4, r6;
		struct topo t;

		assign(pa, sizeof(pa), "A", pairs[i].a);
		assign(pb, sizeof(pb), "B", pairs[i].b);
		if (topo_load("two-sites", &t, err, sizeof(err)) || topo_resolve(&t, 2, params, &net, err, sizeof(err)))
			fail_msg("%s", err);
		assert_true(net.ipv6);
		assert_int_equal(expect_topology(&net, "a", "b", &r4), 0);
		assert_int_equal(expect_topology_ipv6(&net, "a", "b", false, &r6), 0);
		assert_false(r4.direct);   /* symmetric over IPv4: relayed */
		if (r6.direct != pairs[i].direct || r6.technique != pairs[i].how || !strstr(r6.why, pairs[i].why))
			fail_msg("%s / %s over IPv6: %s by %s (%s)", pairs[i].a, pairs[i].b, r6.direct ? "direct" : "relay",
				 expect_technique_name(r6.technique), r6.why);
		/* Both together: direct over either, the reason naming both. */
		struct expect_result both;
		assert_int_equal(expect_topology_both(&net, "a", "b", false, &both, NULL, NULL), 0);
		assert_int_equal(both.direct, r6.direct);
		assert_int_equal(both.technique, r6.technique);
		assert_true(!strncmp(both.why, "IPv4: both NATs map per destination", 35) && strstr(both.why, "; IPv6: "));
	}
}

static void every_pair_across_the_internet(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(two_sites) / sizeof(two_sites[0]); i++) {
		char pa[PATH_MAX + 8], pb[PATH_MAX + 8], *params[] = { pa, pb };
		struct expect_result r, swapped;

		assign(pa, sizeof(pa), "A", two_sites[i].a);
		assign(pb, sizeof(pb), "B", two_sites[i].b);
		verdict_for("two-sites", 2, params, &r);
		if (r.direct != two_sites[i].direct || r.technique != two_sites[i].how)
			fail_msg("%s / %s: %s by %s (%s)", two_sites[i].a, two_sites[i].b, r.direct ? "direct" : "relay",
				 expect_technique_name(r.technique), r.why);
		assert_true(strlen(r.why) > 20);
		/* The verdict does not depend on who is a. */
		assign(pa, sizeof(pa), "A", two_sites[i].b);
		assign(pb, sizeof(pb), "B", two_sites[i].a);
		verdict_for("two-sites", 2, params, &swapped);
		assert_int_equal(swapped.direct, r.direct);
		assert_int_equal(swapped.technique, r.technique);
	}
}

/* A TCP tool meets every translating model as a Linux masquerade: the
 * UDP behaviours do not apply, a site that blocks UDP lets TCP out, and
 * the carrier's hairpin is for UDP only. */
static void over_tcp_every_nat_is_a_masquerade(void **state)
{
	static const struct {
		const char *topology, *a, *b;
		bool direct;
		enum expect_technique how;
	} tcp[] = {
		{ "two-sites", "symmetric", "symmetric", true, EXPECT_PUNCH },
		{ "two-sites", "symmetric", "port-restricted-cone", true, EXPECT_PUNCH },
		{ "two-sites", "linux-masquerade", "symmetric", true, EXPECT_PUNCH_OPENERS },
		{ "two-sites", "udp-blocked", "full-cone", true, EXPECT_PUNCH },
		{ "two-sites", "open", "symmetric", true, EXPECT_OPEN },
		{ "same-carrier", "full-cone", "full-cone", false, EXPECT_NONE },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(tcp) / sizeof(tcp[0]); i++) {
		char pa[80], pb[80], *params[] = { pa, pb };
		struct topo t;
		static struct topo_net net;
		struct expect_result r, udp;
		char err[512];

		snprintf(pa, sizeof(pa), "A=%s", tcp[i].a);
		snprintf(pb, sizeof(pb), "B=%s", tcp[i].b);
		if (topo_load(tcp[i].topology, &t, err, sizeof(err)) || topo_resolve(&t, 2, params, &net, err, sizeof(err)))
			fail_msg("%s", err);
		assert_int_equal(expect_topology_over(&net, "a", "b", true, &r), 0);
		if (r.direct != tcp[i].direct || r.technique != tcp[i].how)
			fail_msg("%s %s / %s over TCP: %s by %s (%s)", tcp[i].topology, tcp[i].a, tcp[i].b,
				 r.direct ? "direct" : "relay", expect_technique_name(r.technique), r.why);
		assert_non_null(strstr(r.why, "over TCP (every model masquerades TCP): "));
		assert_int_equal(expect_topology_over(&net, "a", "b", false, &udp), 0);
		assert_null(strstr(udp.why, "over TCP (every model"));
	}
}

static void technique_names_read_back(void **state)
{
	(void)state;
	for (int t = EXPECT_NONE; t <= EXPECT_PORTMAP; t++) {
		assert_int_equal(expect_technique_parse(expect_technique_name((enum expect_technique)t)), t);
		assert_true(strlen(expect_technique_name((enum expect_technique)t)) < 32);
	}
	assert_int_equal(expect_technique_parse("punch"), -1);
	assert_int_equal(expect_technique_parse(""), -1);
	/* Beyond the endpoints the introducer saw: a tool may lack them. */
	assert_true(expect_technique_special(EXPECT_PUNCH_OPENERS));
	assert_true(expect_technique_special(EXPECT_BIRTHDAY));
	assert_true(expect_technique_special(EXPECT_PREDICTION));
	assert_true(expect_technique_special(EXPECT_PORTMAP));
	assert_false(expect_technique_special(EXPECT_PUNCH));
	assert_false(expect_technique_special(EXPECT_HAIRPIN));
	assert_false(expect_technique_special(EXPECT_OPEN));
}

static void shapes_of_the_shipped_topologies(void **state)
{
	char sym[] = "A=symmetric", sym_b[] = "B=symmetric", fc[] = "A=full-cone", fc_b[] = "B=full-cone",
	     prc_b[] = "B=port-restricted-cone";
	struct expect_result r;

	(void)state;
	{
		char *p[] = { sym };
		verdict_for("same-lan", 1, p, &r);
		assert_int_equal(r.technique, EXPECT_SAME_LAN);
	}
	{
		/* Behind one carrier that hairpins: meet at its mappings. */
		char *p[] = { fc, fc_b };
		verdict_for("same-carrier", 2, p, &r);
		assert_true(r.direct);
		assert_int_equal(r.technique, EXPECT_HAIRPIN);
	}
	{
		char *p[] = { sym, sym_b };
		assert_false(verdict_for("same-carrier", 2, p, &r));
	}
	{
		/* Full cone behind the carrier is the carrier's port-restricted
		 * behaviour with random ports: against a symmetric NAT, birthday. */
		char *p[] = { fc, sym_b };
		verdict_for("double-nat", 2, p, &r);
		assert_int_equal(r.technique, EXPECT_BIRTHDAY);
	}
	{
		char *p[] = { fc, prc_b };
		verdict_for("double-nat", 2, p, &r);
		assert_int_equal(r.technique, EXPECT_PUNCH);
	}
	{
		/* A home router's mapping behind the carrier opens nothing outside. */
		char upnp[PATH_MAX + 8], *p[] = { upnp, sym_b };
		assign(upnp, sizeof(upnp), "A", "symmetric-upnp");
		assert_false(verdict_for("double-nat", 2, p, &r));
	}
	{
		char *p[] = { fc_b };
		assert_false(verdict_for("udp-blocked-site", 1, p, &r));
		assert_non_null(strstr(r.why, "drops outbound UDP"));
	}
}

static void composing_takes_the_stricter_layer(void **state)
{
	struct nat_model fc, cg, sym, c;
	char err[512];

	(void)state;
	assert_int_equal(nat_model_load("full-cone", &fc, err, sizeof(err)), 0);
	assert_int_equal(nat_model_load("cgnat", &cg, err, sizeof(err)), 0);
	assert_int_equal(nat_model_load("symmetric", &sym, err, sizeof(err)), 0);
	c = expect_compose(&fc, &cg);
	assert_int_equal(c.mapping, NAT_ENDPOINT_INDEPENDENT);
	assert_int_equal(c.filtering, NAT_ADDRESS_AND_PORT_DEPENDENT);
	assert_int_equal(c.ports, NAT_PORTS_RANDOM);
	c = expect_compose(&sym, &fc);
	assert_int_equal(c.mapping, NAT_ADDRESS_AND_PORT_DEPENDENT);
	assert_int_equal(c.ports, NAT_PORTS_RANDOM); /* full cone keeps the inner ports */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_pair_across_the_internet),
		cmocka_unit_test(ipv6_is_judged_on_its_own),
		cmocka_unit_test(technique_names_read_back),
		cmocka_unit_test(over_tcp_every_nat_is_a_masquerade),
		cmocka_unit_test(shapes_of_the_shipped_topologies),
		cmocka_unit_test(composing_takes_the_stricter_layer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
