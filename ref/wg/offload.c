#include "offload.h"
#include "../../lib/csum/csum.h"

#include <errno.h>
#include <linux/virtio_net.h>
#include <stdbool.h>

#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5 /* Linux 6.2; older headers lack it */
#endif
#include <string.h>

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The folded, uncomplemented sum of the pseudo-header: the addresses,
 * protocol proto and the transport length. */
static uint32_t pseudo_sum(const uint8_t *pkt, bool v4, uint8_t proto, size_t l4len)
{
	uint32_t sum = v4 ? csum_add(pkt + 12, 8, 0) : csum_add(pkt + 8, 32, 0);

	sum += proto + (uint32_t)(l4len >> 16) + (uint32_t)(l4len & 0xffff);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

/* The TCP/UDP checksum of a whole packet, pseudo-header included. */
static void l4_checksum(uint8_t *pkt, size_t len, size_t l4, size_t csum_off)
{
	bool v4 = (pkt[0] >> 4) == 4;

	put16(pkt + l4 + csum_off, 0);
	put16(pkt + l4 + csum_off, csum_inet(pkt + l4, len - l4, pseudo_sum(pkt, v4, v4 ? pkt[9] : pkt[6], len - l4)));
}

int wg_offload_segment(uint8_t *buf, size_t len, uint8_t *out, wg_segment_fn fn, void *ctx)
{
	struct virtio_net_hdr h;
	uint8_t *pkt = buf + WG_VNET_HDR_LEN;
	size_t plen, hlen, l4, mss, payload, off;
	uint32_t seq;
	uint16_t id;
	int n = 0;
	bool v4, udp = false;

	if (len < WG_VNET_HDR_LEN + 20)
		return -EINVAL;
	memcpy(&h, buf, sizeof(h));
	plen = len - WG_VNET_HDR_LEN;
	if (h.gso_type == VIRTIO_NET_HDR_GSO_NONE) {
		/* A partial checksum: the field holds the pseudo-header sum. */
		if (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
			size_t start = h.csum_start, at = (size_t)h.csum_start + h.csum_offset;
			if (start >= plen || at + 2 > plen)
				return -EINVAL;
			uint32_t sum = get16(pkt + at);
			put16(pkt + at, 0);
			put16(pkt + at, csum_inet(pkt + start, plen - start, sum));
		}
		fn(ctx, pkt, plen);
		return 1;
	}
	if (h.gso_type == VIRTIO_NET_HDR_GSO_UDP_L4)
		udp = true;
	else if ((h.gso_type & ~VIRTIO_NET_HDR_GSO_ECN) != VIRTIO_NET_HDR_GSO_TCPV4 &&
		 (h.gso_type & ~VIRTIO_NET_HDR_GSO_ECN) != VIRTIO_NET_HDR_GSO_TCPV6)
		return -EINVAL;
	v4 = (pkt[0] >> 4) == 4;
	l4 = h.csum_start;
	if (l4 + 20 > plen || h.gso_size == 0 || l4 < 20)
		return -EINVAL;
	hlen = udp ? l4 + 8 : l4 + (size_t)(pkt[l4 + 12] >> 4) * 4;
	if (hlen > plen || hlen > 256)
		return -EINVAL;
	mss = h.gso_size;
	payload = plen - hlen;
	if (hlen + (mss < payload ? mss : payload) > 65536)
		return -EINVAL; /* a segment must fit the caller's scratch space */
	seq = (uint32_t)pkt[l4 + 4] << 24 | (uint32_t)pkt[l4 + 5] << 16 | (uint32_t)pkt[l4 + 6] << 8 | pkt[l4 + 7];
	id = v4 ? get16(pkt + 4) : 0;
	for (off = 0; off < payload; off += mss, n++) {
		size_t chunk = payload - off < mss ? payload - off : mss, slen = hlen + chunk;
		bool last = off + chunk == payload;
		uint32_t s = seq + (uint32_t)off;

		memcpy(out, pkt, hlen);
		memcpy(out + hlen, pkt + hlen + off, chunk);
		if (v4) {
			put16(out + 2, (uint16_t)slen);
			put16(out + 4, (uint16_t)(id + n));
			put16(out + 10, 0);
			put16(out + 10, csum_inet(out, l4, 0));
		} else {
			put16(out + 4, (uint16_t)(slen - 40));
		}
		if (udp) {
			/* USO: each datagram its own length and checksum (0 means none: use 0xffff). */
			put16(out + l4 + 4, (uint16_t)(slen - l4));
			l4_checksum(out, slen, l4, 6);
			if (get16(out + l4 + 6) == 0)
				put16(out + l4 + 6, 0xffff);
			fn(ctx, out, slen);
			continue;
		}
		out[l4 + 4] = (uint8_t)(s >> 24);
		out[l4 + 5] = (uint8_t)(s >> 16);
		out[l4 + 6] = (uint8_t)(s >> 8);
		out[l4 + 7] = (uint8_t)s;
		if (!last)
			out[l4 + 13] &= (uint8_t)~0x09; /* FIN and PSH only on the last segment */
		if (n > 0)
			out[l4 + 13] &= (uint8_t)~0x80; /* CWR only on the first */
		l4_checksum(out, slen, l4, 16);
		fn(ctx, out, slen);
	}
	return n;
}

/* GRO toward the kernel (offload.h). */

const uint8_t wg_vnet_none[WG_VNET_HDR_LEN];

struct tcp_seg {
	size_t l4, hlen, payload;
	uint32_t seq;
	uint16_t id;
	bool v4, joinable;
};

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Is pkt a TCP segment (the fields GRO needs in t), and may it be joined?
 * Returns false for anything that is not TCP over IP as described. */
static bool tcp_parse(const uint8_t *pkt, size_t len, struct tcp_seg *t)
{
	size_t doff;
	uint8_t flags;

	memset(t, 0, sizeof(*t));
	if (len > sizeof(((struct wg_gro_flow *)0)->buf))
		return false;
	if (len >= 40 && pkt[0] == 0x45 && get16(pkt + 2) == len && pkt[9] == 6) {
		t->v4 = true;
		t->l4 = 20;
		t->id = get16(pkt + 4);
		if (get16(pkt + 6) & 0x3fff)
			return false; /* a fragment */
	} else if (len >= 60 && (pkt[0] >> 4) == 6 && get16(pkt + 4) == len - 40 && pkt[6] == 6) {
		t->l4 = 40;
	} else {
		return false;
	}
	doff = (size_t)(pkt[t->l4 + 12] >> 4) * 4;
	if (doff < 20 || t->l4 + doff > len)
		return false;
	t->hlen = t->l4 + doff;
	t->payload = len - t->hlen;
	t->seq = get32(pkt + t->l4 + 4);
	flags = pkt[t->l4 + 13];
	t->joinable = t->payload > 0 && (flags & ~0x08) == 0x10 && (pkt[t->l4 + 12] & 0x0f) == 0 &&
		      (!t->v4 || csum_inet(pkt, 20, 0) == 0) &&
		      csum_inet(pkt + t->l4, len - t->l4, pseudo_sum(pkt, t->v4, 6, len - t->l4)) == 0;
	return true;
}

/* Same flow, and headers one super-packet can stand for (cut again, it
 * gives back these very segments): IP addresses, version, TOS or traffic
 * class and flow label, TTL or hop limit, IPv4 flags; ports, ACK number,
 * data offset, window, urgent pointer, options. PSH may differ. */
static bool same_flow(const struct wg_gro_flow *f, const uint8_t *pkt, const struct tcp_seg *t)
{
	const uint8_t *h = f->buf;

	if (f->l4 != t->l4)
		return false;
	if (t->v4 ? memcmp(h, pkt, 2) || memcmp(h + 6, pkt + 6, 3) || memcmp(h + 12, pkt + 12, 8)
		  : memcmp(h, pkt, 4) || h[7] != pkt[7] || memcmp(h + 8, pkt + 8, 32))
		return false;
	return !memcmp(h + t->l4, pkt + t->l4, 4) && !memcmp(h + t->l4 + 8, pkt + t->l4 + 8, 5) &&
	       !memcmp(h + t->l4 + 14, pkt + t->l4 + 14, 2) && !memcmp(h + t->l4 + 18, pkt + t->l4 + 18, 2) &&
	       f->hlen == t->hlen && !memcmp(h + t->l4 + 20, pkt + t->l4 + 20, t->hlen - t->l4 - 20);
}

/* Same addresses and ports, whatever else: the flow a segment that cannot
 * be joined belongs to, whose held bytes must go before it. */
static bool same_ports(const struct wg_gro_flow *f, const uint8_t *pkt, const struct tcp_seg *t)
{
	return f->l4 == t->l4 && !memcmp(f->buf + (t->v4 ? 12 : 8), pkt + (t->v4 ? 12 : 8), t->v4 ? 8 : 32) &&
	       !memcmp(f->buf + t->l4, pkt + t->l4, 4);
}

/* Might pkt belong to a flow held in f, though it cannot be joined or
 * even parsed (an IPv4 fragment or one with options, IPv6 with extension
 * headers)? Then what f holds goes first. Same addresses, TCP or not
 * known not to be. */
static bool may_follow(const struct wg_gro_flow *f, const uint8_t *pkt, size_t len)
{
	if (len >= 20 && pkt[0] >> 4 == 4 && f->l4 == 20)
		return pkt[9] == 6 && !memcmp(f->buf + 12, pkt + 12, 8);
	if (len >= 40 && pkt[0] >> 4 == 6 && f->l4 == 40)
		return pkt[6] != 17 && pkt[6] != 58 && !memcmp(f->buf + 8, pkt + 8, 32);
	return false;
}

static void gro_emit(struct wg_gro *g, struct wg_gro_flow *f)
{
	struct virtio_net_hdr h = { 0 };
	uint8_t *p = f->buf, hdr[WG_VNET_HDR_LEN];

	if (!f->len)
		return;
	if (f->segs == 1) {
		g->write(g->ctx, wg_vnet_none, p, f->len); /* as it came */
		f->len = 0;
		return;
	}
	if (p[0] >> 4 == 4) {
		put16(p + 2, (uint16_t)f->len);
		put16(p + 10, 0);
		put16(p + 10, csum_inet(p, 20, 0));
		h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	} else {
		put16(p + 4, (uint16_t)(f->len - 40));
		h.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	}
	put16(p + f->l4 + 16, (uint16_t)pseudo_sum(p, p[0] >> 4 == 4, 6, f->len - f->l4));
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.hdr_len = (uint16_t)f->hlen;
	h.gso_size = (uint16_t)f->mss;
	h.csum_start = (uint16_t)f->l4;
	h.csum_offset = 16;
	memcpy(hdr, &h, sizeof(hdr));
	g->write(g->ctx, hdr, p, f->len);
	f->len = 0;
}

void wg_gro_init(struct wg_gro *g, wg_gro_write_fn write, void *ctx)
{
	g->write = write;
	g->ctx = ctx;
	g->evict = 0;
	for (int i = 0; i < WG_GRO_FLOWS; i++)
		g->flow[i].len = 0;
}

static void gro_hold(struct wg_gro_flow *f, const uint8_t *pkt, size_t len, const struct tcp_seg *t)
{
	memcpy(f->buf, pkt, len);
	f->len = len;
	f->l4 = t->l4;
	f->hlen = t->hlen;
	f->mss = t->payload;
	f->next_seq = t->seq + (uint32_t)t->payload;
	f->next_id = (uint16_t)(t->id + 1);
	f->segs = 1;
	f->open = !(pkt[t->l4 + 13] & 0x08);
}

void wg_gro_add(struct wg_gro *g, const uint8_t *pkt, size_t len)
{
	struct wg_gro_flow *free_slot = NULL;
	struct tcp_seg t;
	bool tcp = tcp_parse(pkt, len, &t);

	for (int i = 0; i < WG_GRO_FLOWS; i++) {
		struct wg_gro_flow *f = &g->flow[i];
		if (!f->len) {
			if (!free_slot)
				free_slot = f;
			continue;
		}
		if (!tcp && may_follow(f, pkt, len)) {
			gro_emit(g, f);
			if (!free_slot)
				free_slot = f;
			continue;
		}
		if (!tcp || !same_ports(f, pkt, &t))
			continue;
		if (t.joinable && same_flow(f, pkt, &t) && f->open && t.seq == f->next_seq && t.payload <= f->mss &&
		    f->len + t.payload <= sizeof(f->buf) && f->segs < WG_GRO_MAX_SEGS &&
		    (!t.v4 || t.id == f->next_id)) {
			memcpy(f->buf + f->len, pkt + t.hlen, t.payload);
			f->len += t.payload;
			f->next_seq += (uint32_t)t.payload;
			f->next_id++;
			f->segs++;
			if (pkt[t.l4 + 13] & 0x08) {
				f->buf[f->l4 + 13] |= 0x08;
				f->open = 0;
			}
			if (t.payload < f->mss)
				f->open = 0;
			return;
		}
		gro_emit(g, f); /* the flow's earlier bytes go first */
		if (!free_slot)
			free_slot = f;
	}
	if (!tcp || !t.joinable) {
		g->write(g->ctx, wg_vnet_none, pkt, len);
		return;
	}
	if (!free_slot) {
		free_slot = &g->flow[g->evict];
		g->evict = (g->evict + 1) % WG_GRO_FLOWS;
		gro_emit(g, free_slot);
	}
	gro_hold(free_slot, pkt, len, &t);
}

void wg_gro_flush(struct wg_gro *g)
{
	for (int i = 0; i < WG_GRO_FLOWS; i++)
		gro_emit(g, &g->flow[i]);
}
