/* The link impairment spec: what --link and `link NODE ...` accept. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <errno.h>
#include "impair/impair.h"
#include "topo/topo.h"

static void a_full_spec_reads_as_given(void **state)
{
	struct impair im;
	char err[256];

	(void)state;
	assert_int_equal(impair_parse("delay=40ms,jitter=5ms,loss=2%,reorder=1%,duplicate=0.5%,rate=10mbit,mtu=1400",
				      &im, err, sizeof(err)), 0);
	assert_true(im.on);
	assert_int_equal(im.delay_us, 40000);
	assert_int_equal(im.jitter_us, 5000);
	assert_true(im.loss > 0.0199 && im.loss < 0.0201);
	assert_true(im.reorder > 0.0099 && im.reorder < 0.0101);
	assert_true(im.duplicate > 0.0049 && im.duplicate < 0.0051);
	assert_int_equal(im.rate_bps, 10000000);
	assert_int_equal(im.mtu, 1400);
	assert_int_equal(impair_parse("delay=1s rate=2gbit", &im, err, sizeof(err)), 0);
	assert_int_equal(im.delay_us, 1000000);
	assert_int_equal(im.rate_bps, 2000000000ull);
}

static void bad_specs_say_what_is_wrong(void **state)
{
	static const struct {
		const char *spec, *want;
	} bad[] = {
		{ "delay=40", "bad delay \"40\"" },
		{ "loss=2", "bad loss \"2\"" },
		{ "loss=120%", "bad loss" },
		{ "rate=fast", "bad rate" },
		{ "mtu=100", "bad mtu" },
		{ "colour=red", "unknown impairment \"colour\"" },
		{ "delay", "is not key=value" },
		{ "delay=5ms,jitter=10ms", "jitter (10000 us) larger than delay" },
	};
	struct impair im;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(impair_parse(bad[i].spec, &im, err, sizeof(err)), -EINVAL);
		if (!strstr(err, bad[i].want))
			fail_msg("\"%s\": \"%s\" lacks \"%s\"", bad[i].spec, err, bad[i].want);
	}
}

static void a_topology_link_line_impairs_its_node(void **state)
{
	static const char text[] = "router r\nsegment s 10.0.0.0/24 gateway r\nhost h s\nlink h delay=10ms loss=1%\n";
	static const char bad[] = "router r\nsegment s 10.0.0.0/24 gateway r\nlink h delay=10ms\nhost h s\n";
	struct topo t;
	char err[512];

	(void)state;
	assert_int_equal(topo_parse("t", text, strlen(text), "t.topo", &t, err, sizeof(err)), 0);
	assert_true(t.nodes[topo_find_node(&t, "h")].impair.on);
	assert_int_equal(t.nodes[topo_find_node(&t, "h")].impair.delay_us, 10000);
	assert_int_equal(topo_parse("t", bad, strlen(bad), "t.topo", &t, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "t.topo:3:"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_full_spec_reads_as_given),
		cmocka_unit_test(bad_specs_say_what_is_wrong),
		cmocka_unit_test(a_topology_link_line_impairs_its_node),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
