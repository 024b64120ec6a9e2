/* punchlab conform on port mapping (NAT-PMP, PCP, UPnP IGD) and IPv6
 * (RFC 6092 filtering, RFC 6296 NPTv6): each row held against a router
 * that meets it and one that breaks it on purpose. */
/* limit: 240 s */
#include "conform.h"

#include "conform/conform.h"

static const struct natcheck_opts quick = { 0 };

static const char *const pmap_rows[] = { "RFC6886 3.9", "RFC6886 3.4", "RFC6887 11", "RFC6887 15.1",
					 "IGD 2.3.17",	"IGD 2.5.18",  "RFC6887 15", "IGD 2.5.20", NULL };
static const char *const ipv6_rows[] = { "RFC6092 REC-17", "RFC6296 6", "RFC6296 3.5", NULL };

/* What --save-model writes for a report. */
static void saved_model(const struct conform_report *rep, struct nat_model *m)
{
	conform_measured_model(&rep->check.measured, "measured", m);
	conform_measured_more(&rep->obs, m);
}

/* Every protocol maps, lets a stranger in, and shuts it out again; and the
 * model saved from it offers them all. */
static void a_router_offering_every_protocol_meets_each_ones_rules(void **state)
{
	struct conform_report *rep = conform_subject("symmetric-upnp", &quick);
	struct nat_model m;

	(void)state;
	conform_expect(rep, CONFORM_PASS, pmap_rows);
	conform_expect(rep, CONFORM_NA, ipv6_rows);
	for (int i = 0; i < OBS_PMAP; i++)
		assert_int_equal(rep->obs.pm[i].inbound, 1);
	assert_int_equal(rep->obs.pm[0].ext_addr, rep->obs.pm_seen);
	saved_model(rep, &m);
	assert_int_equal(m.portmap, NAT_PORTMAP_ALL);
	assert_int_equal(m.ipv6, NAT_IPV6_NONE);
	free(rep);
}

/* Mappings whose inbound datagrams are dropped (UPnP's, NAT-PMP's), and a
 * port forwarded by hand that PCP's removal leaves open. */
static void filtered_mappings_and_a_port_left_open_fail_their_rows(void **state)
{
	static const char *const fail[] = { "IGD 2.3.17", "RFC6886 3.9", "RFC6887 15.1", NULL };
	static const char *const pass[] = { "RFC6887 11", "IGD 2.5.18", "RFC6886 3.4", NULL };
	struct natcheck_opts o = { .ruleset = conform_data("portmap-faults.nft") };
	struct conform_report *rep = conform_subject("symmetric-upnp", &o);
	struct nat_model m;

	(void)state;
	conform_expect(rep, CONFORM_FAIL, fail);
	conform_expect(rep, CONFORM_PASS, pass);
	assert_true(conform_must_failed(rep->rows, rep->n_rows));
	saved_model(rep, &m);
	assert_int_equal(m.portmap, NAT_PORTMAP_PCP); /* the only one that let anyone in */
	free(rep);
}

/* The lab's NPTv6 keeps ports but swaps the prefix and rewrites
 * checksums (nftables' prefix NAT), and its firewall filters by address
 * and port; it offers no port mapping. */
static void nptv6_keeps_ports_but_is_not_checksum_neutral(void **state)
{
	static const char *const fail[] = { "RFC6296 3.5", "RFC6092 REC-17", NULL };
	static const char *const pass[] = { "RFC6296 6", NULL };
	struct conform_report *rep = conform_subject("symmetric-ipv6-nptv6", &quick);
	struct nat_model m;

	(void)state;
	conform_expect(rep, CONFORM_FAIL, fail);
	conform_expect(rep, CONFORM_PASS, pass);
	conform_expect(rep, CONFORM_NA, pmap_rows);
	assert_true(rep->obs.v6.translated);
	saved_model(rep, &m);
	assert_int_equal(m.ipv6, NAT_IPV6_NPTV6);
	assert_int_equal(m.portmap, 0);
	free(rep);
}

/* An IPv6 firewall that lets in anyone to what the inside sent from meets
 * REC-17; NPTv6's rows do not apply to it. */
static void an_ipv6_firewall_filtering_by_nothing_meets_rec17(void **state)
{
	static const char *const pass[] = { "RFC6092 REC-17", NULL };
	static const char *const na[] = { "RFC6296 6", "RFC6296 3.5", NULL };
	struct natcheck_opts o = { .ruleset = conform_data("ipv6-eif.nft") };
	struct conform_report *rep = conform_subject("symmetric-ipv6-firewall", &o);
	struct nat_model m;

	(void)state;
	conform_expect(rep, CONFORM_PASS, pass);
	conform_expect(rep, CONFORM_NA, na);
	assert_int_equal(rep->obs.v6.filtering, NAT_ENDPOINT_INDEPENDENT);
	saved_model(rep, &m);
	assert_int_equal(m.ipv6, NAT_IPV6_FIREWALL);
	free(rep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_router_offering_every_protocol_meets_each_ones_rules),
		cmocka_unit_test(filtered_mappings_and_a_port_left_open_fail_their_rows),
		cmocka_unit_test(nptv6_keeps_ports_but_is_not_checksum_neutral),
		cmocka_unit_test(an_ipv6_firewall_filtering_by_nothing_meets_rec17),
	};

	/* each test its own lab, two at a time */
	return lab_side_by_side("lab_conform_mapping", tests, sizeof(tests) / sizeof(tests[0]), 2);
}
