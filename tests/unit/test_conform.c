/* Conformance verdicts: each requirement passes on a NAT that meets it and
 * fails on one that violates it; what cannot be measured is n/a. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conform/conform.h"

static struct nat_measured clean(void)
{
	struct nat_measured m;

	memset(&m, 0, sizeof(m));
	m.udp = m.translated = true;
	m.mapping = NAT_ENDPOINT_INDEPENDENT;
	m.filtering = NAT_ADDRESS_DEPENDENT;
	m.ports = NAT_PORTS_PRESERVE;
	m.hairpin = 1;
	m.hairpin_external = true;
	m.unsolicited = PROBE_UNKNOWN;
	m.lifetime_alive = 119;
	m.lifetime_dead = -1;
	return m;
}

/* What a carrier NAT that meets every requirement would show. */
static struct conform_obs clean_obs(void)
{
	struct conform_obs o;
	uint32_t pub = htonl(0xcb007102); /* 203.0.113.2 */

	memset(&o, 0, sizeof(o));
	o.client = htonl(0x64400002); /* 100.64.0.2 */
	o.carrier = true;
	o.pool_flows = 32;
	o.pool_dests = 8;
	o.pool_addrs = o.pool2_addrs = 1;
	o.over1 = (struct obs_ep){ pub, 41100 };
	o.over2 = (struct obs_ep){ pub, 41101 };
	o.parity_tried = o.parity_kept = 8;
	o.payload = 1;
	o.det_runs = o.det_class[NAT_ENDPOINT_INDEPENDENT] = 6;
	o.icmp_keep = o.df = 1;
	o.df_mtu = 1280;
	for (int i = 0; i < 4; i++)
		o.frag[i] = 1;
	o.tcp = 1;
	o.tcp_mapping = NAT_ENDPOINT_INDEPENDENT;
	o.tcp_m1 = o.tcp_m2 = o.tcp_over1 = (struct obs_ep){ pub, 42000 };
	o.tcp_over2 = (struct obs_ep){ pub, 42001 };
	o.tcp_filtering = NAT_ADDRESS_DEPENDENT;
	o.syn_answer = OBS_ICMP;
	o.syn_ms = 6100;
	o.simopen = o.tcp_hairpin = 1;
	o.tcp_hairpin_from = (struct obs_ep){ pub, 42010 };
	o.echo = o.icmp_error = 1;
	o.echo_from = pub;
	o.refresh_s = 150;
	o.refresh_out = o.refresh_in = 1;
	o.refresh_none = 0;
	o.icmp_s = 61;
	o.icmp_alive = 1;
	o.limit_tried = 1200;
	o.limit_mapped = 1000;
	o.limit_icmp_type = 3;
	o.limit_icmp_code = 13;
	o.tcp_est_s = 7445;
	o.tcp_tr_s = 245;
	o.tcp_est_alive = o.tcp_tr_alive = 1;
	o.hold_s = 135;
	o.hold_new = o.hold_old_alive = 0;
	o.pm_seen = pub;
	for (int i = 0; i < OBS_PMAP; i++)
		o.pm[i] = (struct obs_pmap){ true, true, i == 1 ? 0 : pub, (uint16_t)(45010 + i), 120, 1, 1, 0, "" };
	/* RFC 6296's own NPTv6, filtering by nothing: fd00:0:0:2::2 becomes
	 * 2001:db8:0:2:cf47::2 (one word adjusted: the sums are equal). */
	o.v6_kind = NAT_IPV6_NPTV6;
	o.v6 = clean();
	o.v6.filtering = NAT_ENDPOINT_INDEPENDENT;
	o.v6.local = (struct stun_addr){ .set = true, .port = 40000, .v6 = true };
	o.v6.mapped = o.v6.local;
	inet_pton(AF_INET6, "fd00:0:0:2::2", o.v6.local.addr6);
	inet_pton(AF_INET6, "2001:db8:0:2:cf47::2", o.v6.mapped.addr6);
	return o;
}

static enum conform_verdict verdict(const struct nat_measured *m, const struct conform_obs *o, const char *id)
{
	struct conform_row rows[CONFORM_MAX_ROWS];
	int n = conform_judge(m, o, rows);
	const struct conform_row *r = conform_find(rows, n, id);

	if (!r)
		fail_msg("no row %s", id);
	return r ? r->verdict : CONFORM_NA;
}

static void a_clean_nat_passes_all_it_can_be_judged_on(void **state)
{
	struct nat_measured m = clean();
	struct conform_obs o = clean_obs();
	struct conform_row rows[CONFORM_MAX_ROWS];
	int n = conform_judge(&m, &o, rows);

	(void)state;
	assert_false(conform_must_failed(rows, n));
	for (int i = 0; i < n; i++)
		if (rows[i].verdict != CONFORM_PASS)
			fail_msg("%s: %d (%s)", rows[i].id, rows[i].verdict, rows[i].evidence);
}

static void each_requirement_can_fail(void **state)
{
	struct nat_measured m;
	struct conform_obs o, c = clean_obs();

	(void)state;
	m = clean();
	m.mapping = NAT_ADDRESS_AND_PORT_DEPENDENT; /* masquerade fully-random */
	assert_int_equal(verdict(&m, &c, "RFC4787 REQ-1"), CONFORM_FAIL);
	m = clean();
	m.lifetime_alive = 15; /* a 30 s UDP conntrack timeout */
	m.lifetime_dead = 30;
	assert_int_equal(verdict(&m, &c, "RFC4787 REQ-5"), CONFORM_FAIL);
	m = clean();
	m.filtering = NAT_ADDRESS_AND_PORT_DEPENDENT;
	assert_int_equal(verdict(&m, &c, "RFC4787 REQ-8"), CONFORM_FAIL);
	m = clean();
	m.hairpin = 0;
	assert_int_equal(verdict(&m, &c, "RFC4787 REQ-9"), CONFORM_FAIL);
	m.hairpin = 1;
	m.hairpin_external = false;
	assert_int_equal(verdict(&m, &c, "RFC4787 REQ-9"), CONFORM_FAIL);
	m = clean();
	o = c, o.pool_addrs = 4;
	assert_int_equal(verdict(&m, &o, "RFC4787 REQ-2"), CONFORM_FAIL);
	/* Port mapping: a mapping that lets no stranger in; a removal that
	 * leaves the port open, or is not acknowledged; a short lease; an
	 * external address the outside does not see. */
	o = c, o.pm[0].inbound = 0;
	assert_int_equal(verdict(&m, &o, "IGD 2.3.17"), CONFORM_FAIL);
	o = c, o.pm[1].after = 1;
	assert_int_equal(verdict(&m, &o, "RFC6886 3.4"), CONFORM_FAIL);
	o = c, o.pm[2].removed = 0;
	assert_int_equal(verdict(&m, &o, "RFC6887 15.1"), CONFORM_FAIL);
	o = c, o.pm[2].lifetime = 60;
	assert_int_equal(verdict(&m, &o, "RFC6887 15"), CONFORM_FAIL);
	o = c, o.pm[0].ext_addr = htonl(0xc0a80101); /* a home router's, behind a carrier */
	assert_int_equal(verdict(&m, &o, "IGD 2.5.20"), CONFORM_FAIL);
	/* IPv6: filtering by address and port; NPTv6 moving the port, or
	 * swapping the prefix without the adjusting word. */
	o = c, o.v6.filtering = NAT_ADDRESS_AND_PORT_DEPENDENT;
	assert_int_equal(verdict(&m, &o, "RFC6092 REC-17"), CONFORM_FAIL);
	o = c, o.v6.mapped.port = 40001;
	assert_int_equal(verdict(&m, &o, "RFC6296 6"), CONFORM_FAIL);
	o = c, inet_pton(AF_INET6, "2001:db8:0:2::2", o.v6.mapped.addr6);
	assert_int_equal(verdict(&m, &o, "RFC6296 3.5"), CONFORM_FAIL);
	o = c, o.pool_addrs = 4;
	assert_int_equal(verdict(&m, &o, "RFC6888 REQ-2"), CONFORM_FAIL);
	o = c, o.over2 = o.over1;
	assert_int_equal(verdict(&m, &o, "RFC4787 REQ-3"), CONFORM_FAIL);
	o = c, o.parity_kept = 5;
	assert_int_equal(verdict(&m, &o, "RFC4787 REQ-4"), CONFORM_FAIL);
	o = c, o.payload = 0;
	assert_int_equal(verdict(&m, &o, "RFC4787 REQ-10"), CONFORM_FAIL);
	o = c, o.det_class[NAT_ENDPOINT_INDEPENDENT] = 3, o.det_class[NAT_ADDRESS_AND_PORT_DEPENDENT] = 3;
	assert_int_equal(verdict(&m, &o, "RFC4787 REQ-11"), CONFORM_FAIL);
	o = c, o.icmp_keep = 0;
	assert_int_equal(verdict(&m, &o, "RFC4787 REQ-12"), CONFORM_FAIL);
	o = c, o.df = 0;
	assert_int_equal(verdict(&m, &o, "RFC4787 REQ-13"), CONFORM_FAIL);
	o = c, o.frag[3] = 0;
	assert_int_equal(verdict(&m, &o, "RFC4787 REQ-14"), CONFORM_FAIL);
	o = c, o.refresh_out = 0;
	assert_int_equal(verdict(&m, &o, "RFC4787 REQ-6"), CONFORM_FAIL);
	o = c, o.refresh_none = 1; /* lived anyway: nothing to tell */
	assert_int_equal(verdict(&m, &o, "RFC4787 REQ-6"), CONFORM_NA);
	o = c, o.refresh_s = 0; /* not --long: skipped, not "does not apply" */
	assert_int_equal(verdict(&m, &o, "RFC4787 REQ-6"), CONFORM_SKIP);
	o = c, o.icmp_alive = 0, o.icmp_s = 35;
	assert_int_equal(verdict(&m, &o, "RFC5508 REQ-2"), CONFORM_FAIL);
	o = c, o.icmp_alive = 1, o.icmp_s = 35; /* alive before 60 s proves nothing */
	assert_int_equal(verdict(&m, &o, "RFC5508 REQ-2"), CONFORM_NA);
	o = c, o.tcp_mapping = NAT_ADDRESS_AND_PORT_DEPENDENT;
	assert_int_equal(verdict(&m, &o, "RFC5382 REQ-1"), CONFORM_FAIL);
	assert_int_equal(verdict(&m, &o, "RFC5382 REQ-2"), CONFORM_NA); /* nothing to aim at */
	o = c, o.simopen = 0;
	assert_int_equal(verdict(&m, &o, "RFC5382 REQ-2"), CONFORM_FAIL);
	o = c, o.tcp_filtering = NAT_ADDRESS_AND_PORT_DEPENDENT;
	assert_int_equal(verdict(&m, &o, "RFC5382 REQ-3"), CONFORM_FAIL);
	o = c, o.syn_answer = OBS_RST, o.syn_ms = 1;
	assert_int_equal(verdict(&m, &o, "RFC5382 REQ-4"), CONFORM_FAIL);
	o = c, o.syn_answer = OBS_NOTHING, o.syn_ms = -1; /* a silent drop is allowed */
	assert_int_equal(verdict(&m, &o, "RFC5382 REQ-4"), CONFORM_PASS);
	o = c, o.tcp_over2 = o.tcp_over1;
	assert_int_equal(verdict(&m, &o, "RFC5382 REQ-7"), CONFORM_FAIL);
	o = c, o.tcp_hairpin_from.addr = htonl(0x0a000103);
	assert_int_equal(verdict(&m, &o, "RFC5382 REQ-8"), CONFORM_FAIL);
	o = c, o.echo = 0;
	assert_int_equal(verdict(&m, &o, "RFC5508 REQ-1"), CONFORM_FAIL);
	o = c, o.icmp_error = 0;
	assert_int_equal(verdict(&m, &o, "RFC5508 REQ-4"), CONFORM_FAIL);
	o = c, o.limit_mapped = o.limit_tried;
	assert_int_equal(verdict(&m, &o, "RFC6888 REQ-4"), CONFORM_FAIL);
	o = c, o.limit_icmp_type = o.limit_icmp_code = -1;
	assert_int_equal(verdict(&m, &o, "RFC5508 REQ-8"), CONFORM_FAIL);
	o = c, o.client = o.tcp_m1.addr; /* a router that does not translate TCP */
	assert_int_equal(verdict(&m, &o, "RFC5382 REQ-4"), CONFORM_NA);
	assert_int_equal(verdict(&m, &o, "RFC5382 REQ-8"), CONFORM_NA);
	assert_int_equal(verdict(&m, &o, "RFC5508 REQ-1"), CONFORM_NA);
	o = c, o.tcp_est_s = 30, o.tcp_est_alive = 0;
	assert_int_equal(verdict(&m, &o, "RFC5382 REQ-5e"), CONFORM_FAIL);
	o.tcp_est_s = 8000; /* gone after the two hours: nothing to tell */
	assert_int_equal(verdict(&m, &o, "RFC5382 REQ-5e"), CONFORM_NA);
	o = c, o.tcp_tr_s = 20, o.tcp_tr_alive = 0;
	assert_int_equal(verdict(&m, &o, "RFC5382 REQ-5t"), CONFORM_FAIL);
	o = c, o.tcp_est_s = 0; /* not asked for */
	assert_int_equal(verdict(&m, &o, "RFC5382 REQ-5e"), CONFORM_SKIP);
	o = c, o.hold_new = 1, o.hold_reused = true, o.hold_port = 10007;
	assert_int_equal(verdict(&m, &o, "RFC6888 REQ-8"), CONFORM_FAIL);
	o.hold_reused = false; /* a port never used: nothing to tell */
	assert_int_equal(verdict(&m, &o, "RFC6888 REQ-8"), CONFORM_NA);
	o = c, o.hold_old_alive = 1; /* not expired yet */
	assert_int_equal(verdict(&m, &o, "RFC6888 REQ-8"), CONFORM_NA);
	o = c, o.carrier = false;
	assert_int_equal(verdict(&m, &o, "RFC6888 REQ-4"), CONFORM_NA);
	m = clean();
	m.lifetime_alive = m.lifetime_dead = -1;
	assert_int_equal(verdict(&m, &c, "RFC4787 REQ-5"), CONFORM_SKIP); /* not measured */
}

/* What was measured becomes a model expect can reason with: the same
 * behaviour as the model it was measured on. */
static void a_measurement_reads_back_as_the_model_it_came_from(void **state)
{
	struct nat_measured m = clean();
	struct nat_model got, want, back;
	char err[256], *text = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	m.filtering = NAT_ADDRESS_AND_PORT_DEPENDENT;
	m.hairpin = 0;
	m.unsolicited = NAT_UNSOLICITED_DROP_BEFORE_CONFIRM;
	conform_measured_model(&m, "measured", &got);
	assert_int_equal(nat_model_load("port-restricted-cone", &want, err, sizeof(err)), 0);
	assert_int_equal(got.mapping, want.mapping);
	assert_int_equal(got.filtering, want.filtering);
	assert_int_equal(got.ports, want.ports);
	assert_int_equal(got.hairpin, want.hairpin);
	assert_int_equal(got.unsolicited, want.unsolicited);
	f = open_memstream(&text, &len);
	assert_non_null(f);
	nat_model_write(&got, "measured", f);
	fclose(f);
	assert_int_equal(nat_model_parse("measured", text, len, "measured", &back, err, sizeof(err)), 0);
	assert_memory_equal(&got, &back, sizeof(got));
	free(text);
	/* A mapping per destination cannot keep ports: the parser's rule holds. */
	m.mapping = NAT_ADDRESS_AND_PORT_DEPENDENT;
	conform_measured_model(&m, "measured", &got);
	assert_int_equal(got.ports, NAT_PORTS_RANDOM);
	m.udp = false;
	conform_measured_model(&m, "measured", &got);
	assert_true(got.udp_blocked);
}

/* Issue 14: n/a meant both "does not apply" and "not measured, use
 * --long", and the table had no summary. */
static void what_was_not_measured_is_skipped_not_na_and_the_table_sums_up(void **state)
{
	struct nat_measured m = clean();
	struct conform_obs o = clean_obs();
	struct conform_row rows[CONFORM_MAX_ROWS];
	int n, skipped = 0;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	o.refresh_s = 0; /* not --long */
	n = conform_judge(&m, &o, rows);
	for (int i = 0; i < n; i++)
		if (rows[i].verdict == CONFORM_SKIP) {
			skipped++;
			assert_string_equal(conform_verdict_word(&rows[i]), "skipped");
		} else if (rows[i].verdict == CONFORM_NA) {
			assert_string_equal(conform_verdict_word(&rows[i]), "n/a");
		}
	assert_true(skipped > 0);
	f = open_memstream(&text, &len);
	conform_print("clean", rows, n, f);
	fclose(f);
	assert_non_null(strstr(text, "skipped not measured (use --long)"));
	assert_non_null(strstr(text, " requirements: "));
	assert_non_null(strstr(text, "(0 of them MUST)"));
	assert_non_null(strstr(text, " skipped (not measured)\n"));
	free(text);
	f = open_memstream(&text, &len);
	conform_print_json("clean", rows, n, f);
	fclose(f);
	assert_non_null(strstr(text, "\"verdict\":\"skipped\""));
	free(text);
}

/* No protocol answered, no IPv6 in the lab, a NAT66 rather than NPTv6: the
 * rows are n/a and say why; what a saved model gets from them. */
static void port_mapping_and_ipv6_rows_say_why_they_do_not_apply(void **state)
{
	struct nat_measured m = clean();
	struct conform_obs o = clean_obs();
	struct conform_row rows[CONFORM_MAX_ROWS];
	struct nat_model saved;
	int n;

	(void)state;
	conform_measured_more(&o, &saved);
	assert_int_equal(saved.portmap, NAT_PORTMAP_ALL);
	assert_int_equal(saved.ipv6, NAT_IPV6_NPTV6);
	memset(o.pm, 0, sizeof(o.pm));
	snprintf(o.pm[2].why, sizeof(o.pm[2].why), "PCP: no answer");
	o.v6_kind = NAT_IPV6_NONE;
	n = conform_judge(&m, &o, rows);
	assert_int_equal(conform_find(rows, n, "RFC6887 11")->verdict, CONFORM_NA);
	assert_string_equal(conform_find(rows, n, "RFC6887 11")->evidence, "PCP gave no mapping: PCP: no answer");
	assert_int_equal(conform_find(rows, n, "RFC6092 REC-17")->verdict, CONFORM_NA);
	assert_non_null(strstr(conform_find(rows, n, "RFC6296 6")->evidence, "no IPv6 in the lab"));
	conform_measured_more(&o, &saved);
	assert_int_equal(saved.portmap, 0);
	assert_int_equal(saved.ipv6, NAT_IPV6_NONE);
	o = clean_obs();
	o.v6_kind = NAT_IPV6_NAT66;
	o.v6.mapped.port = 61000;
	n = conform_judge(&m, &o, rows);
	assert_int_equal(conform_find(rows, n, "RFC6296 3.5")->verdict, CONFORM_NA);
	assert_string_equal(conform_find(rows, n, "RFC6296 3.5")->evidence, "not NPTv6: the router does nat66");
	conform_measured_more(&o, &saved);
	assert_int_equal(saved.ipv6, NAT_IPV6_NAT66);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(what_was_not_measured_is_skipped_not_na_and_the_table_sums_up),
		cmocka_unit_test(a_clean_nat_passes_all_it_can_be_judged_on),
		cmocka_unit_test(each_requirement_can_fail),
		cmocka_unit_test(a_measurement_reads_back_as_the_model_it_came_from),
		cmocka_unit_test(port_mapping_and_ipv6_rows_say_why_they_do_not_apply),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
