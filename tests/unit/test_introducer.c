/* The introducer's core on its own, with a fake io: what it does with TCP
 * connections when they fail under it or carry more than one member. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "introducer/introducer.h"
#include "mesh/counter.h"
#include "mesh/proto.h"

#define CLOCK_NS 1796000000000000000ULL   /* the wall clock of these tests (2026) */

/* What the fake io saw. */
static struct {
	int tcp_frames, tcp_fail_from;   /* send_tcp fails with -EPIPE from this frame on (-1: never) */
	int closed[8], n_closed;
	int udp_frames;
	uint64_t ns;                     /* the wall clock */
} io_seen;

static void send_udp(void *ctx, int via, const struct wg_endpoint *to, const uint8_t *buf, size_t len)
{
	(void)ctx, (void)via, (void)to, (void)buf, (void)len;
	io_seen.udp_frames++;
}

static int send_tcp(void *ctx, int conn, const uint8_t *buf, size_t len)
{
	(void)ctx, (void)conn, (void)buf, (void)len;
	if (io_seen.tcp_fail_from >= 0 && io_seen.tcp_frames >= io_seen.tcp_fail_from)
		return -EPIPE;
	io_seen.tcp_frames++;
	return 0;
}

static void close_tcp(void *ctx, int conn)
{
	(void)ctx;
	if (io_seen.n_closed < 8)
		io_seen.closed[io_seen.n_closed++] = conn;
}

static uint64_t real_ns(void *ctx)
{
	(void)ctx;
	return io_seen.ns;
}

static uint8_t intro_priv[32], intro_pub[32], member_priv[2][32];

/* An introducer that allows two members, a and b. */
static struct introducer *intro_new(void)
{
	static const struct introducer_io io = { NULL, send_udp, send_tcp, close_tcp, real_ns };
	struct introducer_conf conf;
	char extra[256], pub[2][45], err[256];
	struct introducer *in;

	memset(&io_seen, 0, sizeof(io_seen));
	io_seen.tcp_fail_from = -1;
	io_seen.ns = CLOCK_NS;
	assert_int_equal(sodium_init() >= 0, 1);
	crypto_box_keypair(intro_pub, intro_priv);
	introducer_conf_defaults(&conf);
	memcpy(conf.private_key, intro_priv, 32);
	conf.has_key = true;
	assert_int_equal(wg_endpoint_parse("203.0.113.10:3478", &conf.listen[0]), 0);
	assert_int_equal(wg_endpoint_parse("203.0.113.11:3478", &conf.listen[1]), 0);
	conf.n_listen = 2;
	conf.user[0] = '\0';
	for (int i = 0; i < 2; i++) {
		uint8_t k[32];
		crypto_box_keypair(k, member_priv[i]);
		mesh_key_format(k, pub[i]);
	}
	snprintf(extra, sizeof(extra), "allow = %s a\nallow = %s b\n", pub[0], pub[1]);
	assert_int_equal(introducer_conf_parse(&conf, extra, strlen(extra), "the test", err, sizeof(err)), 0);
	in = introducer_new(&conf, &io, err, sizeof(err));
	assert_non_null(in);
	return in;
}

/* A REGISTER from member i, framed for TCP (2-byte length first). */
static size_t register_frame(int i, uint8_t *out, size_t cap)
{
	struct mesh_msg msg = { .type = MESH_REGISTER };
	static struct mesh_counter counter[2];
	uint8_t shared[32];
	int n;

	mesh_key_public(msg.sender, member_priv[i]);
	msg.counter = mesh_counter_next(&counter[i], io_seen.ns);
	snprintf(msg.u.reg.name, sizeof(msg.u.reg.name), "%c", 'a' + i);
	assert_int_equal(mesh_shared_key(shared, intro_pub, member_priv[i]), 0);
	n = mesh_seal(&msg, shared, out + 2, cap - 2);
	assert_true(n > 0);
	out[0] = (uint8_t)(n >> 8);
	out[1] = (uint8_t)n;
	return (size_t)n + 2;
}

static bool closed(int conn)
{
	for (int i = 0; i < io_seen.n_closed; i++)
		if (io_seen.closed[i] == conn)
			return true;
	return false;
}

/* A client writes several frames and resets: the first answer fails
 * (EPIPE) while the rest are still being read. The connection is closed
 * once, after its bytes are handled, and nothing touches it after. (It was
 * freed under the frame reader: a use after free, issue 13 #3.) */
static void a_connection_that_resets_while_its_frames_are_read_is_closed_once(void **state)
{
	struct introducer *in = intro_new();
	struct wg_endpoint from;
	uint8_t bytes[4096];
	size_t len = 0;
	int c;

	(void)state;
	assert_int_equal(wg_endpoint_parse("192.0.2.2:40000", &from), 0);
	c = introducer_conn_open(in, &from, 1000);
	assert_true(c >= 0);
	for (int k = 0; k < 3; k++)
		len += register_frame(0, bytes + len, sizeof(bytes) - len);
	io_seen.tcp_fail_from = 0;
	assert_true(introducer_conn_input(in, c, bytes, len, 1000) < 0);
	assert_int_equal(io_seen.n_closed, 1);
	assert_int_equal(io_seen.closed[0], c);
	/* The slot is free: the next connection gets it. */
	io_seen.tcp_fail_from = -1;
	assert_int_equal(introducer_conn_open(in, &from, 1001), c);
	introducer_free(in);
}

/* Two members register over one connection, then the first stops: its
 * expiry must not close the connection the second still uses (it did, and
 * later whoever reused the slot: issue 13 #13). */
static void a_second_member_on_a_connection_keeps_it_when_the_first_expires(void **state)
{
	struct introducer *in = intro_new();
	struct wg_endpoint from;
	uint8_t bytes[2048];
	size_t len;
	int c, before;

	(void)state;
	assert_int_equal(wg_endpoint_parse("192.0.2.2:40000", &from), 0);
	c = introducer_conn_open(in, &from, 1000);
	assert_true(c >= 0);
	len = register_frame(0, bytes, sizeof(bytes));
	assert_int_equal(introducer_conn_input(in, c, bytes, len, 1000), 0);
	len = register_frame(1, bytes, sizeof(bytes));
	assert_int_equal(introducer_conn_input(in, c, bytes, len, 1000), 0);
	assert_int_equal(introducer_members(in), 2);
	/* b keeps registering every 10 s for two minutes; a is silent. */
	for (uint64_t t = 11000; t <= 121000; t += 10000) {
		io_seen.ns = CLOCK_NS + (t - 1000) * 1000000ULL;
		len = register_frame(1, bytes, sizeof(bytes));
		assert_int_equal(introducer_conn_input(in, c, bytes, len, t), 0);
		introducer_tick(in, t);
	}
	assert_int_equal(introducer_members(in), 1);
	assert_false(closed(c));
	/* b is still answered on it. */
	before = io_seen.tcp_frames;
	len = register_frame(1, bytes, sizeof(bytes));
	assert_int_equal(introducer_conn_input(in, c, bytes, len, 122000), 0);
	assert_true(io_seen.tcp_frames > before);
	introducer_free(in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_connection_that_resets_while_its_frames_are_read_is_closed_once),
		cmocka_unit_test(a_second_member_on_a_connection_keeps_it_when_the_first_expires),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
