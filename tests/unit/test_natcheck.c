/* nat-check's comparison of measured behaviour with a declaration. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <glob.h>
#include <string.h>

#include "natcheck/natcheck.h"

static struct nat_model declared(const char *name)
{
	struct nat_model m;
	char err[512];

	assert_int_equal(nat_model_load(name, &m, err, sizeof(err)), 0);
	return m;
}

static struct nat_measured as_declared(const struct nat_model *d)
{
	struct nat_measured m;

	memset(&m, 0, sizeof(m));
	m.udp = !d->udp_blocked && !d->no_ipv4;   /* ipv4 = none: nothing over IPv4 */
	m.translated = d->translate;
	m.mapping = d->translate ? (int)d->mapping : NAT_ENDPOINT_INDEPENDENT;
	m.filtering = d->translate ? (int)d->filtering : NAT_ENDPOINT_INDEPENDENT;
	m.ports = (int)d->ports;
	m.port_step = 1;
	m.hairpin = d->hairpin;
	m.hairpin_external = true;
	m.unsolicited = PROBE_UNKNOWN;
	m.lifetime_alive = m.lifetime_dead = -1;
	return m;
}

/* IPv6 held against its kind: a firewall does not translate, NPTv6 keeps
 * the host part and port, NAT66 translates; each filters by address and
 * port; what differs is named. */
static void ipv6_is_held_against_its_kind(void **state)
{
	struct nat_measured m;
	struct nat_model none = { .ipv6 = NAT_IPV6_NONE }, fw = { .ipv6 = NAT_IPV6_FIREWALL },
			 npt = { .ipv6 = NAT_IPV6_NPTV6 }, nat66 = { .ipv6 = NAT_IPV6_NAT66 };
	char detail[320] = "";

	(void)state;
	memset(&m, 0, sizeof(m));
	m.udp = m.local.v6 = m.mapped.v6 = true;
	m.mapping = NAT_ENDPOINT_INDEPENDENT;
	m.filtering = NAT_ADDRESS_AND_PORT_DEPENDENT;
	m.unsolicited = PROBE_UNKNOWN;
	m.local.port = m.mapped.port = 5000;
	assert_true(natcheck_compare_ipv6(&fw, &m, detail, sizeof(detail)));
	assert_true(natcheck_compare_ipv6(&none, &m, detail, sizeof(detail)));
	assert_false(natcheck_compare_ipv6(&nat66, &m, detail, sizeof(detail)));
	assert_non_null(strstr(detail, "ipv6: declared nat66, but the address was not translated"));
	detail[0] = '\0';
	m.translated = true;
	m.mapped.addr6[0] = 0x20;
	m.local.addr6[0] = 0xfd;
	m.local.addr6[15] = m.mapped.addr6[15] = 2;
	m.unsolicited = NAT_UNSOLICITED_DROP_BEFORE_CONFIRM;
	assert_true(natcheck_compare_ipv6(&npt, &m, detail, sizeof(detail)));
	m.mapped.port = 5001;
	m.filtering = NAT_ENDPOINT_INDEPENDENT;
	assert_false(natcheck_compare_ipv6(&npt, &m, detail, sizeof(detail)));
	assert_non_null(strstr(detail, "the host part or the port changed"));
	assert_non_null(strstr(detail, "ipv6 filtering: declared address-and-port-dependent, measured endpoint-independent"));
	detail[0] = '\0';
	m.udp = false;
	assert_false(natcheck_compare_ipv6(&fw, &m, detail, sizeof(detail)));
	assert_non_null(strstr(detail, "no answer over IPv6"));
	/* udp = block blocks it over IPv6 too: silence is what it declares. */
	detail[0] = '\0';
	fw.udp_blocked = true;
	assert_true(natcheck_compare_ipv6(&fw, &m, detail, sizeof(detail)));
	m.udp = true;
	assert_false(natcheck_compare_ipv6(&fw, &m, detail, sizeof(detail)));
	assert_non_null(strstr(detail, "ipv6: declared udp = block, but UDP got through"));
}

static void a_measurement_equal_to_the_declaration_matches(void **state)
{
	char names[64][NAT_MODEL_NAME_MAX], detail[320];
	int n = nat_model_list(names, 64);
	glob_t g;

	(void)state;
	/* Every shipped model, counted apart from the code under test: a list
	 * that came back empty would pass the loop below. */
	assert_int_equal(glob("nat-models/*.nat", 0, NULL, &g), 0);
	assert_true(g.gl_pathc >= 10);
	assert_int_equal(n, (int)g.gl_pathc);
	globfree(&g);
	for (int i = 0; i < n; i++) {
		struct nat_model d = declared(names[i]);
		struct nat_measured m = as_declared(&d);
		if (!natcheck_compare(&d, &m, false, detail, sizeof(detail)))
			fail_msg("%s: %s", names[i], detail);
		/* An IPv6-only site that answers over IPv4 is not one. */
		if (d.no_ipv4) {
			m.udp = true;
			assert_false(natcheck_compare(&d, &m, false, detail, sizeof(detail)));
			assert_string_equal(detail, "ipv4: declared none, but UDP got through over IPv4");
		}
	}
}

static void each_difference_is_named(void **state)
{
	struct nat_model d = declared("symmetric-sequential");
	struct nat_measured m = as_declared(&d);
	char detail[320];

	(void)state;
	m.mapping = NAT_ENDPOINT_INDEPENDENT;
	m.port_step = 256; /* the byte-order pitfall */
	assert_false(natcheck_compare(&d, &m, false, detail, sizeof(detail)));
	assert_non_null(strstr(detail, "mapping: declared address-and-port-dependent, measured endpoint-independent"));
	assert_non_null(strstr(detail, "ports: sequential with step +256, expected +1"));
}

static void unsolicited_counts_only_when_measurable(void **state)
{
	struct nat_model d = declared("linux-masquerade");
	struct nat_measured m = as_declared(&d);
	char detail[320];

	(void)state;
	assert_true(natcheck_compare(&d, &m, false, detail, sizeof(detail))); /* n/a */
	m.unsolicited = NAT_UNSOLICITED_DROP_BEFORE_CONFIRM;
	assert_false(natcheck_compare(&d, &m, false, detail, sizeof(detail)));
	assert_non_null(strstr(detail, "unsolicited: declared conntrack, measured drop-before-confirm"));
}

static void hairpin_must_carry_the_external_address(void **state)
{
	struct nat_model d = declared("cgnat");
	struct nat_measured m = as_declared(&d);
	char detail[320];

	(void)state;
	m.hairpin_external = false;
	assert_false(natcheck_compare(&d, &m, false, detail, sizeof(detail)));
	assert_non_null(strstr(detail, "REQ-9"));
}

static void udp_getting_through_a_udp_block_is_a_mismatch(void **state)
{
	struct nat_model d = declared("udp-blocked");
	struct nat_measured m = as_declared(&d);
	char detail[320];

	(void)state;
	m.udp = true;
	assert_false(natcheck_compare(&d, &m, false, detail, sizeof(detail)));
	assert_non_null(strstr(detail, "UDP got through"));
}

/* The protocols that granted a mapping must be those declared, no more
 * and no fewer. */
static void portmap_granted_must_be_what_is_declared(void **state)
{
	struct pmap_measured m = { .offered = NAT_PORTMAP_ALL, .lifetime = 120, .ext_port = 45000 };
	char detail[256] = "";

	(void)state;
	assert_true(natcheck_compare_portmap(NAT_PORTMAP_ALL, &m, detail, sizeof(detail)));
	assert_string_equal(detail, "");
	assert_false(natcheck_compare_portmap(NAT_PORTMAP_PCP, &m, detail, sizeof(detail)));
	assert_non_null(strstr(detail, "portmap: declared pcp, granted by all"));
	detail[0] = '\0';
	m.offered = 0;
	assert_false(natcheck_compare_portmap(NAT_PORTMAP_UPNP | NAT_PORTMAP_NATPMP, &m, detail, sizeof(detail)));
	assert_non_null(strstr(detail, "portmap: declared upnp,natpmp, granted by none"));
	assert_true(natcheck_compare_portmap(0, &m, detail, sizeof(detail)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_measurement_equal_to_the_declaration_matches),
		cmocka_unit_test(ipv6_is_held_against_its_kind),
		cmocka_unit_test(each_difference_is_named),
		cmocka_unit_test(unsolicited_counts_only_when_measurable),
		cmocka_unit_test(hairpin_must_carry_the_external_address),
		cmocka_unit_test(udp_getting_through_a_udp_block_is_a_mismatch),
		cmocka_unit_test(portmap_granted_must_be_what_is_declared),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
