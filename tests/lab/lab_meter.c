/* The runner's counters where two sites meet and where the relay hangs,
 * packet by packet (meter_read_packets): each packet of a probe's size
 * that crosses is seen as it passes, in order, and nothing smaller; the
 * byte counters go on counting everything. On a router (two-sites) and on
 * a LAN's bridge (same-lan), with real kernel logging. */
#include "lab.h"
#include "runner/meter.h"
#include "runner/prober.h"

/* limit: 60 s */

#define B_PORT 6000
#define I_PORT 7000

static struct lab l;
static struct meter m;

static int teardown(void **state)
{
	meter_close(&m);
	return lab_teardown(state);
}

static void up(const char *topology, const char *a, const char *b)
{
	char pa[64], pb[64], *assigns[] = { pa, pb };
	char err[256];

	snprintf(pa, sizeof(pa), "A=%s", a);
	snprintf(pb, sizeof(pb), "B=%s", b);
	lab_up(&l, topology, b ? 2 : 1, assigns);
	memset(&m, 0, sizeof(m));
	if (meter_install(&m, &l.net, &l.inst, (const char *const[]){ "a", "b" }, 2, PROBER_WIRE_MIN, err, sizeof(err)))
		fail_msg("%s", err);
}

/* Send n datagrams of len bytes (UDP payload) from fd to to:port, each
 * received by sink. */
static void send_n(int fd, uint32_t to, uint16_t port, int sink, int n, size_t len)
{
	static char buf[1400];

	for (int i = 0; i < n; i++) {
		lab_send(fd, to, port, buf, len);
		assert_int_equal(lab_recv(sink, buf, sizeof(buf), 1000, NULL, NULL), (ssize_t)len);
	}
}

/* Big ones, small ones, then one to the introducer: the counts say which
 * crossed where, at once (no waiting for a window). */
static void counts_each_big_packet_where_it_crosses(void)
{
	uint64_t d, r, bytes0, bytes1, relay_bytes;
	int as = lab_udp(&l, "a", 0, 0), bs = lab_udp(&l, "b", 0, B_PORT), is = lab_udp(&l, "introducer", 0, I_PORT);

	assert_int_equal(meter_read_packets(&m, &d, &r), 0);
	assert_true(d == 0 && r == 0);
	assert_int_equal(meter_read(&m, "a", "b", &bytes0, &relay_bytes), 0);
	send_n(as, lab_addr(&l, "b", 0), B_PORT, bs, 3, PROBER_WIRE_MIN);   /* 28 bytes of headers over the floor */
	send_n(as, lab_addr(&l, "b", 0), B_PORT, bs, 5, 100);
	assert_int_equal(meter_read_packets(&m, &d, &r), 0);
	print_message("direct %llu, relay %llu packets logged\n", (unsigned long long)d, (unsigned long long)r);
	assert_int_equal(d, 3);
	assert_int_equal(r, 0);
	/* the byte counter counts the small ones too */
	assert_int_equal(meter_read(&m, "a", "b", &bytes1, &relay_bytes), 0);
	assert_true(bytes1 - bytes0 >= 3 * (PROBER_WIRE_MIN + 28) + 5 * (100 + 28));
	send_n(as, lab_addr(&l, "introducer", 0), I_PORT, is, 2, 1000);
	assert_int_equal(meter_read_packets(&m, &d, &r), 0);
	assert_int_equal(d, 3);
	assert_int_equal(r, 2);
	meter_close(&m);
	/* closed: nothing more is read, the counts stay */
	send_n(as, lab_addr(&l, "b", 0), B_PORT, bs, 1, PROBER_WIRE_MIN);
	assert_int_equal(meter_read_packets(&m, &d, &r), 0);
	assert_int_equal(d, 3);
	close(as);
	close(bs);
	close(is);
}

static void a_router_between_two_sites_logs_each_big_packet(void **state)
{
	(void)state;
	up("two-sites", "open", "open");
	counts_each_big_packet_where_it_crosses();
	lab_down(&l);
}

static void a_lans_bridge_logs_each_big_packet(void **state)
{
	(void)state;
	up("same-lan", "open", NULL);
	counts_each_big_packet_where_it_crosses();
	lab_down(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(a_router_between_two_sites_logs_each_big_packet, teardown),
		cmocka_unit_test_teardown(a_lans_bridge_logs_each_big_packet, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
