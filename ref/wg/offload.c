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

/* The TCP/UDP checksum of a whole packet, pseudo-header included. */
static void l4_checksum(uint8_t *pkt, size_t len, size_t l4, size_t csum_off)
{
	uint32_t sum = 0;
	uint16_t l4len = (uint16_t)(len - l4);

	if ((pkt[0] >> 4) == 4) {
		sum = csum_add(pkt + 12, 8, 0);
		sum += pkt[9];
	} else {
		sum = csum_add(pkt + 8, 32, 0);
		sum += pkt[6];
	}
	sum += l4len;
	put16(pkt + l4 + csum_off, 0);
	put16(pkt + l4 + csum_off, csum_inet(pkt + l4, l4len, sum));
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
