#include "capture.h"
#include "../../lib/util/netns.h"

#include <errno.h>
#include <stdint.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SNAPLEN 256   /* headers and the start of each payload */

struct capture {
	pcap_t *p;
	pcap_dumper_t *d;
	struct wg_seen *seen;
	int linktype;
};

struct open_arg {
	struct capture *c;
	char errbuf[PCAP_ERRBUF_SIZE];
};

/* The capture socket binds to the namespace it is opened in, and stays. */
static int open_in_ns(void *arg)
{
	struct open_arg *o = arg;

	o->c->p = pcap_open_live("any", SNAPLEN, 0, 10, o->errbuf);
	return o->c->p ? 0 : -EIO;
}

struct capture *capture_start(const char *netns, const char *path, struct wg_seen *seen, char *err, size_t errlen)
{
	struct capture *c = calloc(1, sizeof(*c));
	struct open_arg o = { c, "" };

	if (!c)
		return NULL;
	if (netns_call(netns, open_in_ns, &o)) {
		snprintf(err, errlen, "cannot capture in %s: %s", netns, o.errbuf);
		free(c);
		return NULL;
	}
	pcap_setnonblock(c->p, 1, o.errbuf);
	c->seen = seen;
	c->linktype = pcap_datalink(c->p);
	if (!(c->d = pcap_dump_open(c->p, path))) {
		snprintf(err, errlen, "cannot write %s: %s", path, pcap_geterr(c->p));
		pcap_close(c->p);
		free(c);
		return NULL;
	}
	return c;
}

/* The UDP payload of an IPv4 or IPv6 packet (first fragments and
 * unfragmented ones; IPv6 without extension headers); NULL if none. */
static const uint8_t *udp_payload(const uint8_t *ip, size_t len, size_t *plen)
{
	size_t hl;

	if (len < 1)
		return NULL;
	if (ip[0] >> 4 == 4) {
		hl = (size_t)(ip[0] & 15) * 4;
		if (hl < 20 || len < hl + 8 || ip[9] != 17 || ((ip[6] & 0x1f) | ip[7]))
			return NULL;
	} else if (ip[0] >> 4 == 6) {
		hl = 40;
		if (len < hl + 8 || ip[6] != 17)
			return NULL;
	} else {
		return NULL;
	}
	*plen = len - hl - 8;
	return ip + hl + 8;
}

const uint8_t *capture_udp(int linktype, const uint8_t *pkt, size_t caplen, size_t *plen)
{
	size_t off;
	uint16_t proto;

	switch (linktype) {
	case DLT_LINUX_SLL:  off = 16; proto = caplen >= 16 ? (uint16_t)(pkt[14] << 8 | pkt[15]) : 0; break;
	case DLT_LINUX_SLL2: off = 20; proto = caplen >= 20 ? (uint16_t)(pkt[0] << 8 | pkt[1]) : 0; break;
	case DLT_EN10MB:     off = 14; proto = caplen >= 14 ? (uint16_t)(pkt[12] << 8 | pkt[13]) : 0; break;
	case DLT_RAW:        off = 0;  proto = caplen && pkt[0] >> 4 == 6 ? 0x86dd : 0x0800; break;
	default: return NULL;
	}
	if (caplen < off || (proto != 0x0800 && proto != 0x86dd))
		return NULL;
	return udp_payload(pkt + off, caplen - off, plen);
}

void capture_count_wg(struct wg_seen *seen, int linktype, const uint8_t *pkt, size_t caplen)
{
	size_t plen = 0;
	const uint8_t *u;

	if (!seen || !(u = capture_udp(linktype, pkt, caplen, &plen)) || plen < 20 || (u[1] | u[2] | u[3]))
		return;
	/* The snap length may cut the rest: the type, and the length the
	 * UDP header gives, decide. */
	size_t ulen = (size_t)(u[-4] << 8 | u[-3]);
	if (!((u[0] == 1 && ulen == 8 + 148) || (u[0] == 2 && ulen == 8 + 92)))
		return;
	uint8_t key[16];
	key[0] = u[0];
	memcpy(key + 1, u + 4, 15);   /* the sender's index and the ephemeral key's start */
	for (int i = 0; i < seen->n_recent; i++)
		if (!memcmp(seen->recent[i], key, 16))
			return;
	memcpy(seen->recent[seen->next], key, 16);
	seen->next = (seen->next + 1) % WG_SEEN_RING;
	if (seen->n_recent < WG_SEEN_RING)
		seen->n_recent++;
	if (u[0] == 1)
		seen->initiations++;
	else
		seen->responses++;
}

static void on_packet(u_char *arg, const struct pcap_pkthdr *h, const u_char *pkt)
{
	struct capture *c = (struct capture *)arg;

	pcap_dump((u_char *)c->d, h, pkt);
	capture_count_wg(c->seen, c->linktype, pkt, h->caplen);
}

void capture_poll(struct capture *c)
{
	if (c)
		pcap_dispatch(c->p, -1, on_packet, (u_char *)c);
}

void capture_stop(struct capture *c)
{
	if (!c)
		return;
	capture_poll(c);
	pcap_dump_close(c->d);
	pcap_close(c->p);
	free(c);
}
