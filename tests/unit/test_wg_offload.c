/* TUN offloads: a TSO super-packet is cut into valid TCP segments, and a
 * partial checksum is finished. Every checksum is verified by a slow twin
 * written apart from the code under test (RFC 1071), never by csum_inet. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <linux/virtio_net.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>

#include "wg/offload.h"
#include "csum/csum.h"

struct seen {
	int n;
	size_t len[64];
	uint8_t pkt[64][1600];
};

static void collect(void *ctx, uint8_t *pkt, size_t len)
{
	struct seen *s = ctx;

	memcpy(s->pkt[s->n], pkt, len);
	s->len[s->n++] = len;
}

/* RFC 1071, written apart from lib/csum/csum.c: the one's complement sum
 * of 16-bit big-endian words (a last odd byte padded with zero) and the
 * initial sum, folded, complemented. */
static uint16_t slow_csum(const uint8_t *p, size_t len, uint64_t initial)
{
	uint64_t sum = initial;

	for (size_t i = 0; i < len; i++)
		sum += i % 2 == 0 ? (uint64_t)p[i] << 8 : p[i];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The pseudo-header sum of an IPv4 packet p for protocol proto. */
static uint64_t pseudo_sum(const uint8_t *p, uint8_t proto, size_t l4len)
{
	uint64_t pseudo = 0;

	for (int i = 12; i < 20; i += 2)
		pseudo += (uint64_t)(p[i] << 8 | p[i + 1]);
	return pseudo + proto + l4len;
}

/* Verify an IPv4 packet's two checksums (header, and TCP or UDP with the
 * pseudo-header): each sum over the field that holds it folds to zero. */
static void assert_checksums_valid(const uint8_t *p, size_t len)
{
	assert_int_equal(slow_csum(p, 20, 0), 0);
	assert_int_not_equal(p[20 + (p[9] == 6 ? 16 : 6)] | p[20 + (p[9] == 6 ? 17 : 7)], 0); /* written, not left 0 */
	assert_int_equal(slow_csum(p + 20, len - 20, pseudo_sum(p, p[9], len - 20)), 0);
}

static size_t tso_packet(uint8_t *buf, size_t payload, uint16_t mss, uint8_t flags)
{
	struct virtio_net_hdr h = { 0 };
	uint8_t *p = buf + WG_VNET_HDR_LEN;

	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	h.gso_size = mss;
	h.hdr_len = 40;
	h.csum_start = 20;
	h.csum_offset = 16;
	memcpy(buf, &h, sizeof(h));
	memset(p, 0, 40);
	p[0] = 0x45;
	p[2] = (uint8_t)((40 + payload) >> 8);
	p[3] = (uint8_t)(40 + payload);
	p[4] = 0x12, p[5] = 0x34;
	p[8] = 64;
	p[9] = 6;
	inet_pton(AF_INET, "10.9.0.1", p + 12);
	inet_pton(AF_INET, "10.9.0.2", p + 16);
	p[20] = 0x1f, p[21] = 0x90, p[22] = 0x1b, p[23] = 0x58;
	p[24] = 0xff, p[25] = 0xff, p[26] = 0xff, p[27] = 0x00; /* sequence near the wrap */
	p[32] = 5 << 4;
	p[33] = flags;
	for (size_t i = 0; i < payload; i++)
		p[40 + i] = (uint8_t)(i * 7);
	return WG_VNET_HDR_LEN + 40 + payload;
}

static void a_tso_packet_becomes_mss_sized_segments(void **state)
{
	static uint8_t buf[70000], scratch[65536];
	static struct seen s;
	size_t len = tso_packet(buf, 10000, 1380, 0x18 /* PSH|ACK */);
	uint32_t seq = 0xffffff00u;

	(void)state;
	s.n = 0;
	assert_int_equal(wg_offload_segment(buf, len, scratch, collect, &s), 8);
	assert_int_equal(s.n, 8);
	for (int i = 0; i < 8; i++) {
		const uint8_t *p = s.pkt[i];
		size_t chunk = i < 7 ? 1380 : 10000 - 7 * 1380;
		uint32_t got = (uint32_t)p[24] << 24 | (uint32_t)p[25] << 16 | (uint32_t)p[26] << 8 | p[27];

		assert_int_equal(s.len[i], 40 + chunk);
		assert_int_equal(p[2] << 8 | p[3], 40 + chunk);
		assert_int_equal(p[4] << 8 | p[5], 0x1234 + i);
		assert_int_equal(got, seq + (uint32_t)(i * 1380));
		assert_int_equal(p[33] & 0x08, i == 7 ? 0x08 : 0); /* PSH only on the last */
		assert_int_equal(p[40], (uint8_t)(i * 1380 * 7));
		assert_checksums_valid(p, s.len[i]);
	}
}

static void a_partial_checksum_is_finished(void **state)
{
	static uint8_t buf[2000], scratch[65536];
	static struct seen s;
	size_t len = tso_packet(buf, 500, 1380, 0x10);
	struct virtio_net_hdr h;
	uint8_t *p = buf + WG_VNET_HDR_LEN;
	uint32_t pseudo = 0;

	(void)state;
	memcpy(&h, buf, sizeof(h));
	h.gso_type = VIRTIO_NET_HDR_GSO_NONE;
	memcpy(buf, &h, sizeof(h));
	/* The kernel leaves the pseudo-header sum in the field. */
	for (int i = 12; i < 20; i += 2)
		pseudo += (uint32_t)(p[i] << 8 | p[i + 1]);
	pseudo += 6 + 520;
	while (pseudo >> 16)
		pseudo = (pseudo & 0xffff) + (pseudo >> 16);
	p[36] = (uint8_t)(pseudo >> 8);
	p[37] = (uint8_t)pseudo;
	p[10] = p[11] = 0;
	{
		uint16_t c = slow_csum(p, 20, 0);
		p[10] = (uint8_t)(c >> 8);
		p[11] = (uint8_t)c;
	}
	s.n = 0;
	assert_int_equal(wg_offload_segment(buf, len, scratch, collect, &s), 1);
	assert_checksums_valid(s.pkt[0], s.len[0]);
}

static void a_udp_gso_packet_becomes_datagrams(void **state)
{
	static uint8_t buf[8000], scratch[65536];
	static struct seen s;
	struct virtio_net_hdr h = { 0 };
	uint8_t *p = buf + WG_VNET_HDR_LEN;
	size_t payload = 3000;

	(void)state;
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.gso_type = 5; /* VIRTIO_NET_HDR_GSO_UDP_L4 */
	h.gso_size = 1200;
	h.csum_start = 20;
	h.csum_offset = 6;
	memcpy(buf, &h, sizeof(h));
	memset(p, 0, 28);
	p[0] = 0x45;
	p[9] = 17;
	inet_pton(AF_INET, "10.9.0.1", p + 12);
	inet_pton(AF_INET, "10.9.0.2", p + 16);
	p[20] = 0x13, p[21] = 0x88, p[22] = 0x17, p[23] = 0x70;
	for (size_t i = 0; i < payload; i++)
		p[28 + i] = (uint8_t)(i * 3);
	s.n = 0;
	assert_int_equal(wg_offload_segment(buf, WG_VNET_HDR_LEN + 28 + payload, scratch, collect, &s), 3);
	for (int i = 0; i < 3; i++) {
		const uint8_t *q = s.pkt[i];
		size_t chunk = i < 2 ? 1200 : 600;

		assert_int_equal(s.len[i], 28 + chunk);
		assert_int_equal(q[24] << 8 | q[25], 8 + chunk); /* UDP length */
		assert_int_equal(q[28], (uint8_t)(i * 1200 * 3));
		assert_checksums_valid(q, s.len[i]);
	}
}

static void csum_inet_agrees_with_a_slow_twin_on_random_input_of_every_length(void **state)
{
	static uint8_t buf[1600];

	(void)state;
	srandom(1071);
	for (size_t len = 0; len <= 1501; len++) {
		uint32_t initial = (uint32_t)(random() % 0x40000);
		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)random();
		assert_int_equal(csum_inet(buf, len, initial), slow_csum(buf, len, initial));
	}
	/* All ones, the sum's worst case, at the largest size. */
	{
		static uint8_t big[65535];
		memset(big, 0xff, sizeof(big));
		assert_int_equal(csum_inet(big, sizeof(big), 0xffff), slow_csum(big, sizeof(big), 0xffff));
	}
}

static void odd_length_segments_get_valid_checksums(void **state)
{
	static uint8_t buf[70000], scratch[65536];
	static struct seen s;
	size_t len = tso_packet(buf, 10001, 1381, 0x18);

	(void)state;
	s.n = 0;
	assert_int_equal(wg_offload_segment(buf, len, scratch, collect, &s), 8);
	for (int i = 0; i < s.n; i++) {
		assert_int_equal(s.len[i], i < 7 ? 40 + 1381 : 40 + 10001 - 7 * 1381); /* odd, but the last */
		assert_checksums_valid(s.pkt[i], s.len[i]);
	}
}

static void bad_headers_are_refused(void **state)
{
	static uint8_t buf[2000], scratch[65536];
	static struct seen s;
	struct virtio_net_hdr h;
	size_t len = tso_packet(buf, 500, 1380, 0x10);

	(void)state;
	assert_int_equal(wg_offload_segment(buf, 20, scratch, collect, &s), -EINVAL);
	memcpy(&h, buf, sizeof(h));
	h.csum_start = 1990;
	memcpy(buf, &h, sizeof(h));
	assert_int_equal(wg_offload_segment(buf, len, scratch, collect, &s), -EINVAL);
	h.csum_start = 20;
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	memcpy(buf, &h, sizeof(h));
	assert_int_equal(wg_offload_segment(buf, len, scratch, collect, &s), -EINVAL);
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	h.gso_size = 0;
	memcpy(buf, &h, sizeof(h));
	assert_int_equal(wg_offload_segment(buf, len, scratch, collect, &s), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_tso_packet_becomes_mss_sized_segments),
		cmocka_unit_test(a_partial_checksum_is_finished),
		cmocka_unit_test(a_udp_gso_packet_becomes_datagrams),
		cmocka_unit_test(csum_inet_agrees_with_a_slow_twin_on_random_input_of_every_length),
		cmocka_unit_test(odd_length_segments_get_valid_checksums),
		cmocka_unit_test(bad_headers_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
