/* Conformance verdicts: each requirement passes on a NAT that meets it and
 * fails on one that violates it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

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

static enum conform_verdict verdict(const struct nat_measured *m, const char *id)
{
	struct conform_row rows[CONFORM_MAX_ROWS];
	int n = conform_judge(m, rows);

	for (int i = 0; i < n; i++)
		if (!strcmp(rows[i].id, id))
			return rows[i].verdict;
	fail_msg("no row %s", id);
	return CONFORM_NA;
}

static void a_clean_nat_passes_every_must(void **state)
{
	struct nat_measured m = clean();
	struct conform_row rows[CONFORM_MAX_ROWS];
	int n = conform_judge(&m, rows);

	(void)state;
	assert_false(conform_must_failed(rows, n));
	for (int i = 0; i < n; i++)
		assert_int_equal(rows[i].verdict, CONFORM_PASS);
}

static void each_requirement_can_fail(void **state)
{
	struct nat_measured m;

	(void)state;
	m = clean();
	m.mapping = NAT_ADDRESS_AND_PORT_DEPENDENT; /* masquerade fully-random */
	assert_int_equal(verdict(&m, "RFC4787 REQ-1"), CONFORM_FAIL);
	m = clean();
	m.lifetime_alive = 15; /* a 30 s UDP conntrack timeout */
	m.lifetime_dead = 30;
	assert_int_equal(verdict(&m, "RFC4787 REQ-5"), CONFORM_FAIL);
	m = clean();
	m.filtering = NAT_ADDRESS_AND_PORT_DEPENDENT;
	assert_int_equal(verdict(&m, "RFC4787 REQ-8"), CONFORM_FAIL);
	m = clean();
	m.hairpin = 0;
	assert_int_equal(verdict(&m, "RFC4787 REQ-9"), CONFORM_FAIL);
	m.hairpin = 1;
	m.hairpin_external = false;
	assert_int_equal(verdict(&m, "RFC4787 REQ-9"), CONFORM_FAIL);
	m = clean();
	m.lifetime_alive = m.lifetime_dead = -1;
	assert_int_equal(verdict(&m, "RFC4787 REQ-5"), CONFORM_NA); /* not measured */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_clean_nat_passes_every_must),
		cmocka_unit_test(each_requirement_can_fail),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
