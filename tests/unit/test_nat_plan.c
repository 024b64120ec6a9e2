/* Model -> nftables plan: each behaviour compiles to the pieces that make
 * it, and the printed script says so. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nat/plan.h"
#include "util/text.h"

static struct nat_plan plan;

static void compile(const char *model, int subscribers)
{
	struct nat_model m;
	struct nat_context ctx = { 0 };
	char err[512];

	assert_int_equal(nat_model_load(model, &m, err, sizeof(err)), 0);
	text_parse_ipv4("203.0.113.2", &ctx.public_addr);
	for (int i = 0; i < subscribers; i++)
		ctx.subscribers[ctx.n_subscribers++] = htonl(0x64400002u + (uint32_t)i);
	if (nat_plan_compile(&m, &ctx, &plan, err, sizeof(err)))
		fail_msg("%s: %s", model, err);
}

static int count_stmt(enum nat_chain c, enum nat_stmt_kind k)
{
	int n = 0;

	for (int i = 0; i < plan.n_rules; i++)
		for (int j = 0; j < plan.rules[i].n; j++)
			n += plan.rules[i].chain == c && plan.rules[i].s[j].kind == k;
	return n;
}

static char *printed(void)
{
	static char buf[16384];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	nat_plan_print(&plan, f);
	fclose(f);
	return buf;
}

static void port_restricted_cone_is_masquerade_and_an_input_drop(void **state)
{
	(void)state;
	compile("port-restricted-cone", 0);
	assert_int_equal(plan.n_sets, 0);
	assert_int_equal(count_stmt(NC_POSTROUTING, NS_MASQUERADE), 2);
	assert_int_equal(count_stmt(NC_INPUT, NS_CT_NEW), 1);
	assert_int_equal(count_stmt(NC_PREROUTING, NS_DNAT_MAP), 0);
	assert_non_null(strstr(printed(), "iifname \"wan\" ct state new counter drop"));
}

static void linux_masquerade_has_no_input_drop(void **state)
{
	(void)state;
	compile("linux-masquerade", 0);
	assert_int_equal(count_stmt(NC_INPUT, NS_CT_NEW), 0);
	assert_int_equal(count_stmt(NC_POSTROUTING, NS_MASQUERADE), 2);
}

static void full_cone_forwards_any_sender_to_the_mapping(void **state)
{
	(void)state;
	compile("full-cone", 0);
	assert_int_equal(plan.n_sets, 1);
	assert_string_equal(plan.sets[0].name, "inbound");
	assert_int_equal(plan.sets[0].timeout_s, 120);
	assert_int_equal(count_stmt(NC_PREROUTING, NS_DNAT_MAP), 1);
	assert_int_equal(count_stmt(NC_PREROUTING, NS_LOOKUP), 0);
	assert_int_equal(count_stmt(NC_TRACK, NS_DYNSET_UPDATE), 1);
	assert_non_null(strstr(printed(), "iifname \"wan\" meta l4proto udp dnat ip to udp dport map @inbound"));
	assert_non_null(strstr(printed(), "update @inbound { udp sport : ct original ip saddr . ct original proto-src }"));
}

static void restricted_cone_checks_the_contacted_address(void **state)
{
	(void)state;
	compile("restricted-cone", 0);
	assert_int_equal(plan.n_sets, 2);
	assert_int_equal(count_stmt(NC_PREROUTING, NS_LOOKUP), 1);
	assert_non_null(strstr(printed(), "udp dport . ip saddr @contacted dnat ip to udp dport map @inbound"));
}

static void symmetric_sequential_uses_numgen_and_says_so(void **state)
{
	char *text;

	(void)state;
	compile("symmetric-sequential", 0);
	assert_int_equal(count_stmt(NC_POSTROUTING, NS_SNAT_NUMGEN), 1);
	assert_int_equal(plan.n_sets, 0);
	text = printed();
	assert_non_null(strstr(text, "numgen inc mod 40000 offset 20000"));
	assert_non_null(strstr(text, "byteorder hton"));
}

static void address_dependent_mapping_keys_on_destination_address(void **state)
{
	(void)state;
	compile("address-restricted-mapping", 0);
	assert_int_equal(plan.n_sets, 1);
	assert_string_equal(plan.sets[0].name, "mappings");
	assert_int_equal(plan.sets[0].key.n, 3);
	assert_int_equal(plan.sets[0].key.f[2], NF_IP_DADDR);
	assert_non_null(strstr(printed(), "snat ip to 203.0.113.2 : ip saddr . udp sport . ip daddr map @mappings"));
}

static void cgnat_gives_each_subscriber_a_block(void **state)
{
	char *text;

	(void)state;
	compile("cgnat", 3);
	text = printed();
	assert_non_null(strstr(text, "ip saddr 100.64.0.2 meta l4proto udp snat ip to 203.0.113.2:10000-10999 fully-random"));
	assert_non_null(strstr(text, "ip saddr 100.64.0.3 meta l4proto udp snat ip to 203.0.113.2:11000-11999 fully-random"));
	assert_non_null(strstr(text, "ip saddr 100.64.0.4 meta l4proto udp snat ip to 203.0.113.2:12000-12999 fully-random"));
	/* Hairpinning: inside hosts reach each other's mappings. */
	assert_non_null(strstr(text, "iifname != \"wan\" ip daddr 203.0.113.2 meta l4proto udp dnat"));
	/* After NAT the packet's source is public: the track chain asks conntrack. */
	assert_non_null(strstr(text, "oifname \"wan\" ct original ip saddr 100.64.0.0/16 meta l4proto udp update @mappings"));
}

static void cgnat_refuses_more_subscribers_than_blocks(void **state)
{
	struct nat_model m;
	struct nat_context ctx = { 0 };
	char err[512];

	(void)state;
	assert_int_equal(nat_model_load("cgnat", &m, err, sizeof(err)), 0);
	m.port_block = 30000;
	ctx.n_subscribers = 2;
	assert_int_equal(nat_plan_compile(&m, &ctx, &plan, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "2 subscribers but port-range 10000-59999 holds only 1 blocks"));
}

static void udp_blocked_drops_outbound_udp_in_forward(void **state)
{
	(void)state;
	compile("udp-blocked", 0);
	assert_int_equal(count_stmt(NC_FORWARD, NS_DROP), 1);
	assert_non_null(strstr(printed(), "oifname \"wan\" meta l4proto udp counter drop"));
}

static void open_builds_no_nat(void **state)
{
	(void)state;
	compile("open", 0);
	assert_int_equal(plan.n_rules, 0);
	assert_int_equal(plan.n_sysctls, 0);
}

/* The IPv6 side (model key ipv6): a stateful firewall for each kind;
 * nptv6 maps the prefix both ways, nat66 masquerades; none: no rules. */
static void ipv6_firewall_prefix_translation_and_nat66(void **state)
{
	static const char *const kinds[] = { "none", "firewall", "nptv6", "nat66" };
	struct nat_model m;
	struct nat_context ctx = { 0 };
	char err[512], text[256];

	(void)state;
	ctx.n_prefixes6 = 1;
	ctx.inside6[0][0] = 0xfd;
	ctx.outside6[0][0] = 0x20;
	ctx.outside6[0][1] = 0x01;
	for (int k = 0; k < 4; k++) {
		snprintf(text, sizeof(text), "mapping = address-and-port-dependent\nfiltering = address-and-port-dependent\n"
			 "ports = random\nipv6 = %s\n", kinds[k]);
		assert_int_equal(nat_model_parse("v6", text, strlen(text), "test", &m, err, sizeof(err)), 0);
		assert_int_equal(m.ipv6, (enum nat_ipv6)k);
		assert_int_equal(nat_plan_compile6(&m, &ctx, &plan, err, sizeof(err)), 0);
		assert_true(plan.ipv6);
		if (k == 0) {
			assert_int_equal(plan.n_rules, 0);
			continue;
		}
		assert_int_equal(count_stmt(NC_FORWARD, NS_CT_REPLY), 1);
		assert_int_equal(count_stmt(NC_FORWARD, NS_DROP), 1);
		assert_int_equal(count_stmt(NC_POSTROUTING, NS_SNAT_PREFIX6), k == 2);
		assert_int_equal(count_stmt(NC_PREROUTING, NS_DNAT_PREFIX6), k == 2);
		assert_int_equal(count_stmt(NC_POSTROUTING, NS_MASQUERADE), k == 3);
		assert_non_null(strstr(printed(), "table ip6 punchlab"));
		if (k == 2)
			assert_non_null(strstr(printed(), "oifname \"wan\" ip6 saddr fd00::/64 snat ip6 prefix to 2001::/64"));
	}
}

static void timeouts_become_conntrack_sysctls(void **state)
{
	(void)state;
	compile("symmetric", 0);
	assert_int_equal(plan.n_sysctls, 2);
	assert_string_equal(plan.sysctls[0].path, "net.netfilter.nf_conntrack_udp_timeout");
	assert_string_equal(plan.sysctls[0].value, "120");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(port_restricted_cone_is_masquerade_and_an_input_drop),
		cmocka_unit_test(linux_masquerade_has_no_input_drop),
		cmocka_unit_test(full_cone_forwards_any_sender_to_the_mapping),
		cmocka_unit_test(restricted_cone_checks_the_contacted_address),
		cmocka_unit_test(symmetric_sequential_uses_numgen_and_says_so),
		cmocka_unit_test(address_dependent_mapping_keys_on_destination_address),
		cmocka_unit_test(cgnat_gives_each_subscriber_a_block),
		cmocka_unit_test(cgnat_refuses_more_subscribers_than_blocks),
		cmocka_unit_test(udp_blocked_drops_outbound_udp_in_forward),
		cmocka_unit_test(open_builds_no_nat),
		cmocka_unit_test(timeouts_become_conntrack_sysctls),
		cmocka_unit_test(ipv6_firewall_prefix_translation_and_nat66),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
