/* NAT model parser: every shipped model parses; bad files fail with the
 * file, the line and the allowed values. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <arpa/inet.h>

#include "nat/model.h"

static int parse(const char *text, struct nat_model *m, char *err)
{
	return nat_model_parse("t", text, strlen(text), "nat-models/t.nat", m, err, 512);
}

static void every_shipped_model_parses(void **state)
{
	char names[64][NAT_MODEL_NAME_MAX], err[512];
	struct nat_model m;
	int n = nat_model_list(names, 64);

	(void)state;
	assert_true(n >= 10);
	for (int i = 0; i < n; i++) {
		int ret = nat_model_load(names[i], &m, err, sizeof(err));
		if (ret)
			fail_msg("%s: %s", names[i], err);
		assert_string_equal(m.name, names[i]);
	}
}

static void port_restricted_cone_reads_as_declared(void **state)
{
	struct nat_model m;
	char err[512];

	(void)state;
	assert_int_equal(nat_model_load("port-restricted-cone", &m, err, sizeof(err)), 0);
	assert_true(m.translate);
	assert_int_equal(m.mapping, NAT_ENDPOINT_INDEPENDENT);
	assert_int_equal(m.filtering, NAT_ADDRESS_AND_PORT_DEPENDENT);
	assert_int_equal(m.ports, NAT_PORTS_PRESERVE);
	assert_false(m.hairpin);
	assert_int_equal(m.udp_timeout, 120);
	assert_int_equal(m.unsolicited, NAT_UNSOLICITED_DROP_BEFORE_CONFIRM);
}

static void models_that_behave_differently_differ_in_their_files(void **state)
{
	struct nat_model a, b;
	char err[512];

	(void)state;
	assert_int_equal(nat_model_load("port-restricted-cone", &a, err, sizeof(err)), 0);
	assert_int_equal(nat_model_load("linux-masquerade", &b, err, sizeof(err)), 0);
	assert_int_equal(a.unsolicited, NAT_UNSOLICITED_DROP_BEFORE_CONFIRM);
	assert_int_equal(b.unsolicited, NAT_UNSOLICITED_CONNTRACK);
}

static void cgnat_has_inside_prefix_and_port_blocks(void **state)
{
	struct nat_model m;
	char err[512];

	(void)state;
	assert_int_equal(nat_model_load("cgnat", &m, err, sizeof(err)), 0);
	assert_true(m.has_inside);
	assert_int_equal(m.inside_len, 16);
	assert_int_equal(m.inside_addr, htonl(0x64400000));
	assert_int_equal(m.port_block, 1000);
	assert_true(m.hairpin);
}

static void unknown_filtering_names_file_line_and_allowed_values(void **state)
{
	struct nat_model m;
	char err[512];

	(void)state;
	assert_int_equal(parse("mapping = endpoint-independent\n# c\nfiltering = cone\n", &m, err), -EINVAL);
	assert_string_equal(err, "nat-models/t.nat:3: unknown filtering \"cone\"; expected endpoint-independent, "
				 "address-dependent or address-and-port-dependent");
}

static void bad_files_are_rejected_with_reasons(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "mapping endpoint-independent\n", ":1: expected \"key = value\"" },
		{ "colour = blue\n", ":1: unknown key \"colour\"; expected nat, udp, mapping" },
		{ "ports = preserve\nports = random\n", ":2: \"ports\" given twice" },
		{ "udp-timeout = 0\n", "udp-timeout \"0\" is not a number" },
		{ "udp-timeout = 12x\n", "udp-timeout \"12x\"" },
		{ "port-range = 9-3\n", "port-range \"9-3\"" },
		{ "inside = 100.64.0.1/16\n", "inside \"100.64.0.1/16\"" },
		{ "hairpin = maybe\n", "unknown hairpin \"maybe\"; expected no or yes" },
		{ "mapping = a b\n", "needs one value" },
		{ "mapping = endpoint-independent\nfiltering = endpoint-independent\n", "missing \"ports\"" },
		{ "nat = none\nmapping = endpoint-independent\n", "\"mapping\" has no meaning with nat = none" },
		{ "mapping = address-dependent\nfiltering = endpoint-independent\nports = preserve\n",
		  "ports = preserve keeps one external port" },
		{ "mapping = endpoint-independent\nfiltering = endpoint-independent\nports = random\nport-block = 10\n",
		  "port-block needs \"inside\"" },
		{ "mapping = endpoint-independent\0\n", "NUL byte" },
		{ "portmap = igd\n", "portmap \"igd\" is not none, all, or some of upnp, natpmp and pcp" },
		{ "portmap = upnp,upnp\n", "portmap \"upnp,upnp\"" },
		{ "portmap = upnp,\n", "portmap \"upnp,\"" },
		{ "portmap = ,pcp\n", "portmap \",pcp\"" },
		{ "nat = none\nportmap = upnp\n", "\"portmap\" has no meaning with nat = none" },
	};
	struct nat_model m;
	char err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].text);
		if (strstr(cases[i].want, "NUL"))
			len += 2;
		assert_int_equal(nat_model_parse("t", cases[i].text, len, "nat-models/t.nat", &m, err, sizeof(err)),
				 -EINVAL);
		if (!strstr(err, cases[i].want))
			fail_msg("case %zu: \"%s\" does not contain \"%s\"", i, err, cases[i].want);
		assert_true(strncmp(err, "nat-models/t.nat:", 17) == 0);
	}
}

/* What nat_model_write writes, nat_model_parse reads back the same. */
static void every_shipped_model_survives_writing_and_reading(void **state)
{
	char names[32][NAT_MODEL_NAME_MAX], err[256], *text = NULL;
	int n = nat_model_list(names, 32);

	(void)state;
	assert_true(n >= 10);
	for (int i = 0; i < n; i++) {
		struct nat_model a, b;
		size_t len = 0;
		FILE *f;

		assert_int_equal(nat_model_load(names[i], &a, err, sizeof(err)), 0);
		f = open_memstream(&text, &len);
		assert_non_null(f);
		nat_model_write(&a, "written back\nby the test", f);
		fclose(f);
		if (nat_model_parse(a.name, text, len, "written", &b, err, sizeof(err)))
			fail_msg("%s: %s\n%s", names[i], err, text);
		assert_memory_equal(&a, &b, sizeof(a));
		free(text);
		text = NULL;
	}
}

/* ipv6 = none | firewall | nptv6 | nat66, written back, refused
 * otherwise with the choices; its view in IPv4's words. */
static void ipv6_says_what_the_router_does_for_ipv6(void **state)
{
	static const char base[] = "mapping = address-and-port-dependent\nfiltering = address-and-port-dependent\nports = random\n";
	struct nat_model m, v6, back;
	char text[512], err[512], *out = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	snprintf(text, sizeof(text), "%sipv6 = nat66\n", base);
	assert_int_equal(nat_model_parse("x", text, strlen(text), "x.nat", &m, err, sizeof(err)), 0);
	assert_int_equal(m.ipv6, NAT_IPV6_NAT66);
	assert_string_equal(nat_ipv6_name(m.ipv6), "nat66");
	assert_true(nat_model_ipv6_view(&m, &v6));
	assert_int_equal(v6.mapping, NAT_ENDPOINT_INDEPENDENT);
	assert_int_equal(v6.ports, NAT_PORTS_PRESERVE);
	assert_int_equal(v6.unsolicited, NAT_UNSOLICITED_CONNTRACK);
	f = open_memstream(&out, &len);
	nat_model_write(&m, NULL, f);
	fclose(f);
	assert_non_null(strstr(out, "ipv6        = nat66"));
	assert_int_equal(nat_model_parse("x", out, len, "back", &back, err, sizeof(err)), 0);
	assert_memory_equal(&m, &back, sizeof(m));
	free(out);
	snprintf(text, sizeof(text), "%sipv6 = firewall\n", base);
	assert_int_equal(nat_model_parse("x", text, strlen(text), "x.nat", &m, err, sizeof(err)), 0);
	assert_true(nat_model_ipv6_view(&m, &v6));
	assert_int_equal(v6.filtering, NAT_ADDRESS_AND_PORT_DEPENDENT);
	assert_int_equal(v6.unsolicited, NAT_UNSOLICITED_DROP_BEFORE_CONFIRM);
	assert_int_equal(nat_model_parse("x", base, strlen(base), "x.nat", &m, err, sizeof(err)), 0);
	assert_int_equal(m.ipv6, NAT_IPV6_NONE);
	assert_false(nat_model_ipv6_view(&m, &v6));
	snprintf(text, sizeof(text), "%sipv6 = yes\n", base);
	assert_int_equal(nat_model_parse("x", text, strlen(text), "x.nat", &m, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "x.nat:4: unknown ipv6 \"yes\"; expected none, firewall, nptv6 or nat66"));
}

/* ipv4 = none: an IPv6-only site, written back; refused without IPv6 or
 * with IPv4 translation. The shipped model is one. */
static void ipv4_none_makes_an_ipv6_only_site(void **state)
{
	struct nat_model m, back;
	char err[512], *out = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	assert_int_equal(parse("ipv4 = none\nnat = none\nipv6 = firewall\n", &m, err), 0);
	assert_true(m.no_ipv4);
	f = open_memstream(&out, &len);
	nat_model_write(&m, NULL, f);
	fclose(f);
	assert_non_null(strstr(out, "ipv4        = none\n"));
	assert_int_equal(nat_model_parse("t", out, len, "back", &back, err, sizeof(err)), 0);
	assert_memory_equal(&m, &back, sizeof(m));
	free(out);
	assert_int_equal(parse("ipv4 = yes\nnat = none\n", &m, err), 0);
	assert_false(m.no_ipv4);
	assert_int_equal(parse("ipv4 = none\nnat = none\n", &m, err), -EINVAL);
	assert_non_null(strstr(err, "ipv4 = none leaves the site nothing without IPv6"));
	assert_int_equal(parse("ipv4 = none\nipv6 = firewall\nmapping = endpoint-independent\n"
			       "filtering = endpoint-independent\nports = preserve\n", &m, err), -EINVAL);
	assert_non_null(strstr(err, "say nat = none"));
	assert_int_equal(parse("ipv4 = no\nnat = none\n", &m, err), -EINVAL);
	assert_non_null(strstr(err, "unknown ipv4 \"no\"; expected none or yes"));
	assert_int_equal(nat_model_load("ipv6-only", &m, err, sizeof(err)), 0);
	assert_true(m.no_ipv4);
	assert_int_equal(m.ipv6, NAT_IPV6_FIREWALL);
}

/* Port mapping: none, all, or protocols in any order, read back the same. */
static void portmap_names_the_protocols_a_router_answers(void **state)
{
	static const struct {
		const char *value;
		unsigned bits;
		const char *written;
	} cases[] = {
		{ "none", 0, "none" }, { "all", NAT_PORTMAP_ALL, "all" }, { "pcp", NAT_PORTMAP_PCP, "pcp" },
		{ "pcp,upnp", NAT_PORTMAP_PCP | NAT_PORTMAP_UPNP, "upnp,pcp" },
		{ "natpmp,pcp,upnp", NAT_PORTMAP_ALL, "all" },
	};
	char text[256], err[256], pm[32];
	struct nat_model m;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "mapping = endpoint-independent\nfiltering = address-and-port-dependent\n"
					     "ports = random\nportmap = %s\n", cases[i].value);
		assert_int_equal(nat_model_parse("t", text, strlen(text), "t.nat", &m, err, sizeof(err)), 0);
		assert_int_equal(m.portmap, cases[i].bits);
		assert_string_equal(nat_portmap_name(m.portmap, pm, sizeof(pm)), cases[i].written);
	}
}

static void missing_model_says_how_to_list_them(void **state)
{
	struct nat_model m;
	char err[512];

	(void)state;
	assert_int_equal(nat_model_load("no-such-model", &m, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "punchlab nat list"));
	assert_int_equal(nat_model_load("/nonexistent/x.nat", &m, err, sizeof(err)), -ENOENT);
	assert_int_equal(nat_model_load("Bad Name", &m, err, sizeof(err)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_shipped_model_parses),
		cmocka_unit_test(port_restricted_cone_reads_as_declared),
		cmocka_unit_test(models_that_behave_differently_differ_in_their_files),
		cmocka_unit_test(cgnat_has_inside_prefix_and_port_blocks),
		cmocka_unit_test(unknown_filtering_names_file_line_and_allowed_values),
		cmocka_unit_test(bad_files_are_rejected_with_reasons),
		cmocka_unit_test(portmap_names_the_protocols_a_router_answers),
		cmocka_unit_test(ipv6_says_what_the_router_does_for_ipv6),
		cmocka_unit_test(ipv4_none_makes_an_ipv6_only_site),
		cmocka_unit_test(missing_model_says_how_to_list_them),
		cmocka_unit_test(every_shipped_model_survives_writing_and_reading),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
