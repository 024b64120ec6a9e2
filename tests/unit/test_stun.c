/* STUN codec against RFC 5769's published vector, round trips, hostile
 * input, and the server's RFC 5780 answers. */
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

#include "stun/server.h"
#include "util/bucket.h"
#include "stun/stun.h"

/* RFC 5769 §2.2, "Sample IPv4 Response" (tests/data/README.md). */
static const uint8_t rfc5769_response[] = {
	0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
	0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
	0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
	0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9,
	0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7, 0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96,
};

/* RFC 5769 §2.3's IPv6 XOR-MAPPED-ADDRESS (2001:db8:1234:5678:11:2233:4455:6677
 * port 32853, XORed with the cookie and its transaction id), in a bare
 * response: decoded, and encoded back to the same bytes. */
static void rfc5769_ipv6_address_decodes_and_encodes_back(void **state)
{
	static const uint8_t msg[] = {
		0x01, 0x01, 0x00, 0x18, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
		0xfa, 0x87, 0xdf, 0xae, 0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
		0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9,
	};
	static const uint8_t want[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56, 0x78,
					  0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77 };
	struct stun_msg m, back;
	uint8_t buf[STUN_MAX_MSG];
	const char *why;
	size_t n;

	(void)state;
	assert_int_equal(stun_decode(msg, sizeof(msg), &m, &why), 0);
	assert_true(m.xor_mapped.set && m.xor_mapped.v6);
	assert_memory_equal(m.xor_mapped.addr6, want, 16);
	assert_int_equal(m.xor_mapped.port, 32853);
	n = stun_encode(&m, buf, sizeof(buf));
	assert_true(n > sizeof(msg));
	assert_memory_equal(buf + STUN_HEADER_LEN, msg + STUN_HEADER_LEN, sizeof(msg) - STUN_HEADER_LEN);
	assert_int_equal(stun_decode(buf, n, &back, &why), 0);
	assert_memory_equal(back.xor_mapped.addr6, want, 16);
}

/* An IPv6 source is answered in IPv6: its own address, and the server's
 * IPv6 addresses as origin and other address; a server without a second
 * IPv6 address cannot change its address there. */
static void an_ipv6_source_is_answered_in_ipv6(void **state)
{
	struct stun_server_cfg c = { htonl(0xcb00710a), htonl(0xcb00710b), 3478, 3479, -1, false, true,
				     { 0x20, 0x01, 0x0d, 0xb8, [7] = 1, [15] = 0x0a }, { 0x20, 0x01, 0x0d, 0xb8, [7] = 1, [15] = 0x0b } };
	struct stun_addr src = { true, 0, 5000, true, { 0x20, 0x01, 0x0d, 0xb8, [7] = 4, [15] = 2 } };
	struct stun_msg req, resp;
	uint8_t in[STUN_MAX_MSG], out[STUN_MAX_MSG];
	size_t n, out_len;
	int sa, sp;
	uint16_t dport;
	const char *why;

	(void)state;
	memset(&req, 0, sizeof(req));
	req.type = STUN_BINDING_REQUEST;
	req.padding = 80;
	n = stun_encode(&req, in, sizeof(in));
	assert_true(stun_server_answer(&c, 0, 0, in, n, &src, out, &out_len, &sa, &sp, &dport));
	assert_int_equal(stun_decode(out, out_len, &resp, &why), 0);
	assert_true(resp.xor_mapped.v6 && !memcmp(resp.xor_mapped.addr6, src.addr6, 16) && resp.xor_mapped.port == 5000);
	assert_true(resp.response_origin.v6 && resp.response_origin.addr6[15] == 0x0a);
	assert_true(resp.other_address.v6 && resp.other_address.addr6[15] == 0x0b && resp.other_address.port == 3479);
	/* A bare request (no padding) gets the least IPv6 answer there is:
	 * 52 bytes, not IPv4's 40 (it got none). */
	req.padding = 0;
	n = stun_encode(&req, in, sizeof(in));
	assert_true(stun_server_answer(&c, 0, 0, in, n, &src, out, &out_len, &sa, &sp, &dport));
	assert_int_equal(out_len, STUN_SERVER_MIN_ANSWER6);
	assert_int_equal(stun_decode(out, out_len, &resp, &why), 0);
	assert_true(resp.xor_mapped.v6 && !memcmp(resp.xor_mapped.addr6, src.addr6, 16));
	req.padding = 80;
	memset(c.alternate6, 0, 16);
	req.has_change = true;
	req.change = STUN_CHANGE_IP;
	n = stun_encode(&req, in, sizeof(in));
	assert_true(stun_server_answer(&c, 0, 0, in, n, &src, out, &out_len, &sa, &sp, &dport));
	assert_int_equal(stun_decode(out, out_len, &resp, &why), 0);
	assert_int_equal(resp.type, STUN_BINDING_ERROR);
}

static void rfc5769_ipv4_response_decodes(void **state)
{
	struct stun_msg m;
	const char *why;

	(void)state;
	assert_int_equal(stun_decode(rfc5769_response, sizeof(rfc5769_response), &m, &why), 0);
	assert_int_equal(m.type, STUN_BINDING_RESPONSE);
	assert_true(m.has_fingerprint);
	assert_true(m.xor_mapped.set);
	assert_int_equal(m.xor_mapped.addr, htonl(0xc0000201)); /* 192.0.2.1 */
	assert_int_equal(m.xor_mapped.port, 32853);
	assert_string_equal(m.software, "test vector");
	/* MESSAGE-INTEGRITY is comprehension-required and not ours to check. */
	assert_int_equal(m.n_unknown, 1);
	assert_int_equal(m.unknown[0], 0x0008);
}

static void a_flipped_bit_fails_the_fingerprint(void **state)
{
	uint8_t buf[sizeof(rfc5769_response)];
	struct stun_msg m;
	const char *why;

	(void)state;
	memcpy(buf, rfc5769_response, sizeof(buf));
	buf[30] ^= 1;
	assert_int_equal(stun_decode(buf, sizeof(buf), &m, &why), -EINVAL);
	assert_string_equal(why, "FINGERPRINT does not match");
}

static void encode_then_decode_gives_the_same_message(void **state)
{
	struct stun_msg in, out;
	uint8_t buf[STUN_MAX_MSG];
	const char *why;
	size_t n;

	(void)state;
	memset(&in, 0, sizeof(in));
	in.type = STUN_BINDING_RESPONSE;
	for (int i = 0; i < 12; i++)
		in.txid[i] = (uint8_t)(i * 7 + 1);
	in.xor_mapped = (struct stun_addr){ true, htonl(0xcb007102), 40000, false, { 0 } };
	in.mapped = in.xor_mapped;
	in.response_origin = (struct stun_addr){ true, htonl(0xcb00710a), 3478, false, { 0 } };
	in.other_address = (struct stun_addr){ true, htonl(0xcb00710b), 3479, false, { 0 } };
	in.has_change = true;
	in.change = STUN_CHANGE_IP | STUN_CHANGE_PORT;
	in.has_response_port = true;
	in.response_port = 12345;
	snprintf(in.software, sizeof(in.software), "punchlab");
	n = stun_encode(&in, buf, sizeof(buf));
	assert_true(n > STUN_HEADER_LEN);
	assert_int_equal(n % 4, 0);
	assert_int_equal(stun_decode(buf, n, &out, &why), 0);
	assert_memory_equal(out.txid, in.txid, 12);
	assert_int_equal(out.xor_mapped.addr, in.xor_mapped.addr);
	assert_int_equal(out.xor_mapped.port, 40000);
	assert_int_equal(out.mapped.port, 40000);
	assert_int_equal(out.other_address.port, 3479);
	assert_int_equal(out.response_origin.addr, in.response_origin.addr);
	assert_int_equal(out.change, STUN_CHANGE_IP | STUN_CHANGE_PORT);
	assert_int_equal(out.response_port, 12345);
	assert_string_equal(out.software, "punchlab");
	assert_true(out.has_fingerprint);
}

static void hostile_messages_are_refused(void **state)
{
	uint8_t buf[64];
	struct stun_msg m;
	const char *why;

	(void)state;
	/* Too short, no cookie, length mismatch, attribute overrun. */
	assert_int_equal(stun_decode(rfc5769_response, 10, &m, &why), -EINVAL);
	memcpy(buf, rfc5769_response, 20);
	buf[4] = 0;
	assert_int_equal(stun_decode(buf, 20, &m, &why), -EINVAL);
	assert_string_equal(why, "not STUN (no magic cookie)");
	memcpy(buf, rfc5769_response, 20);
	buf[3] = 8;
	assert_int_equal(stun_decode(buf, 20, &m, &why), -EINVAL);
	assert_string_equal(why, "message length does not match the datagram");
	memcpy(buf, rfc5769_response, 20);
	buf[3] = 4;
	buf[20] = 0x00, buf[21] = 0x20, buf[22] = 0x00, buf[23] = 0xff;
	assert_int_equal(stun_decode(buf, 24, &m, &why), -EINVAL);
	assert_string_equal(why, "attribute runs past the end of the message");
	/* An address attribute with a bad family and a short one. */
	buf[3] = 12;
	buf[23] = 8;
	memset(buf + 24, 0, 8);
	buf[25] = 7;
	assert_int_equal(stun_decode(buf, 32, &m, &why), -EINVAL);
	assert_string_equal(why, "unknown address family");
	buf[23] = 2;
	buf[3] = 8;
	assert_int_equal(stun_decode(buf, 28, &m, &why), -EINVAL);
}

/* An IPv4 source (addr in network order). */
#define SRC4(a, p) (&(struct stun_addr){ true, (a), (p), false, { 0 } })

static struct stun_server_cfg server_cfg(void)
{
	struct stun_server_cfg c = { htonl(0xcb00710a), htonl(0xcb00710b), 3478, 3479, -1, false, false, { 0 }, { 0 } };

	return c;
}

/* A binding request; padding as punchlab's probe sends it (PROBE_PADDING
 * in harness/stun/probe.c), or 0. */
#define PADDED 80
static size_t request_padded(uint8_t *buf, uint8_t change, int response_port, uint16_t extra_attr, uint16_t padding)
{
	struct stun_msg m;
	size_t n;

	memset(&m, 0, sizeof(m));
	m.type = STUN_BINDING_REQUEST;
	memset(m.txid, 0x42, 12);
	m.has_change = change != 0;
	m.change = change;
	m.has_response_port = response_port >= 0;
	m.response_port = (uint16_t)(response_port < 0 ? 0 : response_port);
	m.padding = padding;
	n = stun_encode(&m, buf, STUN_MAX_MSG);
	if (extra_attr) {
		/* Insert an unknown comprehension-required attribute before the fingerprint. */
		uint8_t copy[STUN_MAX_MSG];
		memcpy(copy, buf, n - 8);
		copy[n - 8] = (uint8_t)(extra_attr >> 8), copy[n - 7] = (uint8_t)extra_attr;
		copy[n - 6] = 0, copy[n - 5] = 0;
		copy[2] = 0, copy[3] = (uint8_t)(n - 8 + 4 - STUN_HEADER_LEN);
		memcpy(buf, copy, n - 4);
		n -= 4;
	}
	return n;
}

static size_t request(uint8_t *buf, uint8_t change, int response_port, uint16_t extra_attr)
{
	return request_padded(buf, change, response_port, extra_attr, PADDED);
}

static void change_request_answers_from_the_other_address_and_port(void **state)
{
	struct stun_server_cfg c = server_cfg();
	uint8_t in[STUN_MAX_MSG], out[STUN_MAX_MSG];
	size_t n = request(in, STUN_CHANGE_IP | STUN_CHANGE_PORT, -1, 0), out_len;
	int sa, sp;
	uint16_t dport;
	struct stun_msg r;
	const char *why;

	(void)state;
	assert_true(stun_server_answer(&c, 0, 0, in, n, SRC4(htonl(0xcb007102), 5000), out, &out_len, &sa, &sp, &dport));
	assert_int_equal(sa, 1);
	assert_int_equal(sp, 1);
	assert_int_equal(dport, 5000);
	assert_int_equal(stun_decode(out, out_len, &r, &why), 0);
	assert_int_equal(r.type, STUN_BINDING_RESPONSE);
	assert_int_equal(r.xor_mapped.port, 5000);
	assert_int_equal(r.response_origin.addr, c.alternate);
	assert_int_equal(r.response_origin.port, 3479);
	assert_int_equal(r.other_address.addr, c.alternate);

	n = request(in, STUN_CHANGE_PORT, -1, 0);
	assert_true(stun_server_answer(&c, 0, 0, in, n, SRC4(htonl(0xcb007102), 5000), out, &out_len, &sa, &sp, &dport));
	assert_int_equal(sa, 0);
	assert_int_equal(sp, 1);
}

static void response_port_redirects_the_answer(void **state)
{
	struct stun_server_cfg c = server_cfg();
	uint8_t in[STUN_MAX_MSG], out[STUN_MAX_MSG];
	size_t n = request(in, 0, 40001, 0), out_len;
	int sa, sp;
	uint16_t dport;

	(void)state;
	assert_true(stun_server_answer(&c, 1, 0, in, n, SRC4(htonl(0xcb007102), 5000), out, &out_len, &sa, &sp, &dport));
	assert_int_equal(dport, 40001);
	assert_int_equal(sa, 1);
}

static void unknown_required_attribute_gets_420(void **state)
{
	struct stun_server_cfg c = server_cfg();
	uint8_t in[STUN_MAX_MSG], out[STUN_MAX_MSG];
	size_t n = request(in, 0, -1, 0x0042), out_len;
	int sa, sp;
	uint16_t dport;
	struct stun_msg r;
	const char *why;

	(void)state;
	assert_true(stun_server_answer(&c, 0, 0, in, n, SRC4(1, 5000), out, &out_len, &sa, &sp, &dport));
	assert_int_equal(stun_decode(out, out_len, &r, &why), 0);
	assert_int_equal(r.type, STUN_BINDING_ERROR);
	assert_int_equal(r.error_code, 420);
	assert_int_equal(r.n_listed, 1);
	assert_int_equal(r.listed[0], 0x0042);
}

static void a_server_without_alternate_refuses_to_change(void **state)
{
	struct stun_server_cfg c = server_cfg();
	uint8_t in[STUN_MAX_MSG], out[STUN_MAX_MSG];
	size_t n = request(in, STUN_CHANGE_IP, -1, 0), out_len;
	int sa, sp;
	uint16_t dport;
	struct stun_msg r;
	const char *why;

	(void)state;
	c.alternate = 0;
	assert_true(stun_server_answer(&c, 0, 0, in, n, SRC4(1, 5000), out, &out_len, &sa, &sp, &dport));
	assert_int_equal(stun_decode(out, out_len, &r, &why), 0);
	assert_int_equal(r.error_code, 420);
	assert_int_equal(r.n_listed, 1);
	assert_int_equal(r.listed[0], STUN_A_CHANGE_REQUEST);
}

static void responses_and_garbage_get_no_answer(void **state)
{
	struct stun_server_cfg c = server_cfg();
	uint8_t out[STUN_MAX_MSG], junk[40] = { 0 };
	size_t out_len;
	int sa, sp;
	uint16_t dport;

	(void)state;
	assert_false(stun_server_answer(&c, 0, 0, rfc5769_response, sizeof(rfc5769_response), SRC4(1, 5000), out, &out_len,
					&sa, &sp, &dport));
	assert_false(stun_server_answer(&c, 0, 0, junk, sizeof(junk), SRC4(1, 5000), out, &out_len, &sa, &sp, &dport));
}

/* Issue 14: a 20-byte request with RESPONSE-PORT got 88 bytes, to any port
 * of a forged source. Nothing sent is larger than what came, or the least
 * answer there is. */
static void an_unverified_source_gets_no_more_than_it_sent(void **state)
{
	struct stun_server_cfg c = server_cfg();
	uint8_t in[STUN_MAX_MSG], out[STUN_MAX_MSG];
	size_t n, out_len;
	int sa, sp, answered = 0;
	uint16_t dport;
	struct stun_msg r;
	const char *why;

	(void)state;
	/* The bare header: 20 bytes. */
	n = request_padded(in, 0, -1, 0, 0);
	n = STUN_HEADER_LEN;
	in[2] = in[3] = 0;
	assert_true(stun_server_answer(&c, 0, 0, in, n, SRC4(htonl(0xcb007102), 5000), out, &out_len, &sa, &sp, &dport));
	assert_true(out_len <= STUN_SERVER_MIN_ANSWER);
	assert_int_equal(stun_decode(out, out_len, &r, &why), 0);
	assert_true(r.xor_mapped.set);
	assert_int_equal(r.xor_mapped.port, 5000);
	assert_false(r.other_address.set);
	/* Every kind of request, unpadded and padded: bounded. */
	for (int pad = 0; pad <= PADDED; pad += PADDED)
		for (int k = 0; k < 8; k++) {
			uint8_t change = (k & 1) ? STUN_CHANGE_IP | STUN_CHANGE_PORT : 0;
			n = request_padded(in, change, (k & 2) ? 40001 : -1, (k & 4) ? 0x0042 : 0, (uint16_t)pad);
			if (!stun_server_answer(&c, 0, 0, in, n, SRC4(htonl(0xcb007102), 5000), out, &out_len, &sa, &sp, &dport))
				continue;
			answered++;
			assert_true(out_len <= (n > STUN_SERVER_MIN_ANSWER ? n : STUN_SERVER_MIN_ANSWER));
			assert_int_equal(stun_decode(out, out_len, &r, &why), 0);
			if (pad && !(k & 4))
				assert_true(r.other_address.set && r.response_origin.set);
		}
	assert_true(answered >= 12);
}

static void answers_to_one_source_are_rate_limited(void **state)
{
	static struct bucket_slot table[STUN_SERVER_SOURCES];
	int ok = 0;

	(void)state;
	for (int i = 0; i < 1000; i++)
		ok += stun_server_rate_ok(table, SRC4(htonl(0xc0000202), 0), 1000);
	assert_int_equal(ok, STUN_SERVER_BURST);
	/* another address has its own */
	assert_true(stun_server_rate_ok(table, SRC4(htonl(0xc0000203), 0), 1000));
	/* a second later: STUN_SERVER_PER_S more */
	ok = 0;
	for (int i = 0; i < 1000; i++)
		ok += stun_server_rate_ok(table, SRC4(htonl(0xc0000202), 0), 2000);
	assert_int_equal(ok, STUN_SERVER_PER_S);
	/* many addresses at once do not take a known one's place for long */
	for (uint32_t a = 0; a < 10 * STUN_SERVER_SOURCES; a++)
		assert_true(stun_server_rate_ok(table, SRC4(htonl(0x0a000000 + a), 0), 3000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rfc5769_ipv4_response_decodes),
		cmocka_unit_test(rfc5769_ipv6_address_decodes_and_encodes_back),
		cmocka_unit_test(an_ipv6_source_is_answered_in_ipv6),
		cmocka_unit_test(a_flipped_bit_fails_the_fingerprint),
		cmocka_unit_test(encode_then_decode_gives_the_same_message),
		cmocka_unit_test(hostile_messages_are_refused),
		cmocka_unit_test(change_request_answers_from_the_other_address_and_port),
		cmocka_unit_test(response_port_redirects_the_answer),
		cmocka_unit_test(unknown_required_attribute_gets_420),
		cmocka_unit_test(a_server_without_alternate_refuses_to_change),
		cmocka_unit_test(responses_and_garbage_get_no_answer),
		cmocka_unit_test(an_unverified_source_gets_no_more_than_it_sent),
		cmocka_unit_test(answers_to_one_source_are_rate_limited),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
