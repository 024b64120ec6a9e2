/* libFuzzer: GRO toward the TUN device (wg_gro_add/wg_gro_flush) loses,
 * adds and changes nothing. Whatever packets the tunnel opens, in any
 * order, what is written, with every super-packet cut again as the
 * kernel would (wg_offload_segment), is the very packets that came in
 * (checksum fields aside where both are valid: a joined segment's are
 * computed again), and each TCP flow's in the order it came. Input:
 * records of a flags byte (bit 0: set the IPv4 header checksum, bit 1:
 * set the TCP checksum, bit 2: the batch ends after it), a 16-bit length
 * and a packet. */
#include "wg/offload.h"
#include "csum/csum.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PKTS 256

struct pkts {
	int n;
	size_t used;
	size_t len[MAX_PKTS];
	uint8_t *at[MAX_PKTS];
	uint8_t mem[1 << 20];
};

static struct pkts in, out;

static void keep(struct pkts *p, const uint8_t *pkt, size_t len)
{
	if (p->n == MAX_PKTS || p->used + len > sizeof(p->mem))
		abort(); /* more out than in */
	p->at[p->n] = p->mem + p->used;
	memcpy(p->at[p->n], pkt, len);
	p->len[p->n++] = len;
	p->used += len;
}

static void keep_out(void *ctx, uint8_t *pkt, size_t len)
{
	(void)ctx;
	keep(&out, pkt, len);
}

static void written(void *ctx, const uint8_t *hdr, const uint8_t *pkt, size_t len)
{
	static uint8_t buf[WG_VNET_HDR_LEN + 65536], scratch[65536];

	(void)ctx;
	if (len > 65535)
		abort();
	if (!memcmp(hdr, wg_vnet_none, WG_VNET_HDR_LEN)) {
		keep(&out, pkt, len);
		return;
	}
	memcpy(buf, hdr, WG_VNET_HDR_LEN);
	memcpy(buf + WG_VNET_HDR_LEN, pkt, len);
	if (wg_offload_segment(buf, WG_VNET_HDR_LEN + len, scratch, keep_out, NULL) < 2)
		abort(); /* a super-packet the kernel would refuse, or of one */
}

static uint16_t g16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Where TCP starts in an IPv4 (no options) or IPv6 packet, or 0. */
static size_t tcp_at(const uint8_t *p, size_t len)
{
	if (len >= 40 && p[0] == 0x45 && p[9] == 6)
		return 20;
	if (len >= 60 && p[0] >> 4 == 6 && p[6] == 6)
		return 40;
	return 0;
}

static uint32_t pseudo(const uint8_t *p, size_t l4, size_t len)
{
	uint32_t sum = l4 == 20 ? csum_add(p + 12, 8, 0) : csum_add(p + 8, 32, 0);

	return sum + 6 + (uint32_t)(len - l4);
}

static void set_csums(uint8_t *p, size_t len, uint8_t flags)
{
	size_t l4 = tcp_at(p, len);
	uint16_t c;

	if ((flags & 1) && len >= 20 && p[0] == 0x45) {
		p[10] = p[11] = 0;
		c = csum_inet(p, 20, 0);
		p[10] = (uint8_t)(c >> 8), p[11] = (uint8_t)c;
	}
	if ((flags & 2) && l4) {
		p[l4 + 16] = p[l4 + 17] = 0;
		c = csum_inet(p + l4, len - l4, pseudo(p, l4, len));
		p[l4 + 16] = (uint8_t)(c >> 8), p[l4 + 17] = (uint8_t)c;
	}
}

/* Checksum fields out of a TCP packet whose checksums are both valid. */
static void normalize(uint8_t *p, size_t len)
{
	size_t l4 = tcp_at(p, len);

	if (!l4 || (l4 == 20 && csum_inet(p, 20, 0) != 0) || csum_inet(p + l4, len - l4, pseudo(p, l4, len)) != 0)
		return;
	if (l4 == 20)
		p[10] = p[11] = 0;
	p[l4 + 16] = p[l4 + 17] = 0;
}

static int cmp(const void *a, const void *b)
{
	const uint8_t *const *x = a, *const *y = b;
	size_t lx = g16(*x - 2), ly = g16(*y - 2), l = lx < ly ? lx : ly;
	int c = memcmp(*x, *y, l);

	return c ? c : (lx > ly) - (lx < ly);
}

/* Sort a list of packets: each gets its length in the two bytes before it. */
static void sorted(struct pkts *p, uint8_t **list, uint8_t *mem)
{
	size_t at = 0;

	for (int i = 0; i < p->n; i++) {
		mem[at] = (uint8_t)(p->len[i] >> 8), mem[at + 1] = (uint8_t)p->len[i];
		memcpy(mem + at + 2, p->at[i], p->len[i]);
		normalize(mem + at + 2, p->len[i]);
		list[i] = mem + at + 2;
		at += p->len[i] + 2;
	}
	qsort(list, (size_t)p->n, sizeof(list[0]), cmp);
}

/* Where a packet's addresses and ports are, as the oracle sees a TCP
 * flow (IPv4 without options, fragments too; IPv6 with TCP next): the
 * bytes that name its flow, or 0. */
static size_t flow_key(const uint8_t *p, size_t len, uint8_t key[36])
{
	size_t l4 = tcp_at(p, len);

	if (!l4)
		return 0;
	memcpy(key, p + (l4 == 20 ? 12 : 8), l4 == 20 ? 8 : 32);
	memcpy(key + (l4 == 20 ? 8 : 32), p + l4, 4);
	return l4 == 20 ? 12 : 36;
}

/* Each flow's packets come out in the order they went in. */
static void check_order(void)
{
	static uint8_t a[65536], b[65536];

	for (int i = 0; i < in.n; i++) {
		uint8_t key[36], k2[36];
		size_t kl = flow_key(in.at[i], in.len[i], key);
		bool first = true;
		int j = 0, o = 0;

		if (!kl)
			continue;
		for (int e = 0; e < i && first; e++)
			first = !(flow_key(in.at[e], in.len[e], k2) == kl && !memcmp(k2, key, kl));
		if (!first)
			continue; /* this flow was checked */
		for (j = 0;; j++) {
			while (j < in.n && !(flow_key(in.at[j], in.len[j], k2) == kl && !memcmp(k2, key, kl)))
				j++;
			while (o < out.n && !(flow_key(out.at[o], out.len[o], k2) == kl && !memcmp(k2, key, kl)))
				o++;
			if (j == in.n || o == out.n) {
				if ((j == in.n) != (o == out.n))
					abort();
				break;
			}
			if (in.len[j] != out.len[o])
				abort();
			memcpy(a, in.at[j], in.len[j]);
			memcpy(b, out.at[o], out.len[o]);
			normalize(a, in.len[j]);
			normalize(b, out.len[o]);
			if (memcmp(a, b, in.len[j]))
				abort(); /* out of order */
			o++;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct wg_gro gro;
	static uint8_t pkt[65536], mem_in[(1 << 20) + 2 * MAX_PKTS], mem_out[(1 << 20) + 2 * MAX_PKTS];
	static uint8_t *list_in[MAX_PKTS], *list_out[MAX_PKTS];
	size_t off = 0;

	in.n = out.n = 0;
	in.used = out.used = 0;
	wg_gro_init(&gro, written, NULL);
	while (off + 3 <= size && in.n < MAX_PKTS) {
		uint8_t flags = data[off];
		size_t len = g16(data + off + 1);

		off += 3;
		if (len > size - off)
			len = size - off;
		if (len > 65535)
			len = 65535;
		if (in.used + len > sizeof(in.mem))
			break;
		memcpy(pkt, data + off, len);
		off += len;
		set_csums(pkt, len, flags);
		keep(&in, pkt, len);
		wg_gro_add(&gro, pkt, len);
		if (flags & 4)
			wg_gro_flush(&gro);
	}
	wg_gro_flush(&gro);
	if (out.n != in.n)
		abort();
	check_order();
	sorted(&in, list_in, mem_in);
	sorted(&out, list_out, mem_out);
	for (int i = 0; i < in.n; i++)
		if (cmp(&list_in[i], &list_out[i]))
			abort();
	return 0;
}
