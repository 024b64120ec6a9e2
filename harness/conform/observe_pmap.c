/* Port mapping (UPnP IGD, NAT-PMP, PCP) as a host behind the NAT asks for
 * it: for each protocol, a mapping asked for a port that never sent, a
 * datagram from an outside address that never heard of it, the mapping
 * removed, and a new outside flow tried again. */
#include "observe_int.h"
#include "../../lib/nat/model.h"
#include "../../lib/portmap/portmap.h"
#include "../../lib/util/netns.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define PMAP_PORT 45010      /* the client's ports asked for (45010-45012) */
#define PMAP_SEEN_PORT 45020 /* the client's port that shows its outside address */
#define PMAP_FROM_PORT 5020  /* the outside sender's ports (one per try) */
#define WAIT_MS 600

struct ask_arg {
	unsigned proto;
	struct pmap_ask *q;
};

static int ask_in(void *p)
{
	struct ask_arg *a = p;

	return pmap_ask(a->proto, a->q);
}

/* Ask for (or, lifetime 0, remove) a mapping from inside the client's
 * namespace. */
static void ask(const struct conform_lab *lab, unsigned proto, struct pmap_ask *q)
{
	struct ask_arg a = { proto, q };

	if (netns_call(lab->client_ns, ask_in, &a))
		q->got = false;
}

/* A datagram from a fresh outside port to ext: did it reach fd? */
static int reaches(struct obs_ctx *c, uint16_t from_port, uint32_t addr, uint16_t port, int fd)
{
	int s = csock_udp(c->lab->server_ns, c->lab->server[1], from_port), got;
	uint8_t buf[64];

	if (s < 0)
		return OBS_UNKNOWN;
	got = csock_send(s, addr, port, "PLCM", 4) == 0 && csock_recv_tag(fd, "PLCM", WAIT_MS, NULL, buf, sizeof(buf)) >= 0;
	close(s);
	return got;
}

void observe_pmap(struct obs_ctx *c, struct conform_obs *o)
{
	const struct conform_lab *lab = c->lab;
	uint16_t from = PMAP_FROM_PORT;
	int seen = lab->client ? csock_udp(lab->client_ns, lab->client, PMAP_SEEN_PORT) : -1;

	for (int i = 0; i < OBS_PMAP; i++)
		o->pm[i] = (struct obs_pmap){ .inbound = OBS_UNKNOWN, .removed = OBS_UNKNOWN, .after = OBS_UNKNOWN };
	/* Where the outside sees this host from (the address a mapping that
	 * does not say its own is reached at). */
	if (seen >= 0) {
		struct obs_ep e;
		uint8_t buf[64];
		if (csock_send(seen, lab->server[0], 5001, "PLCS", 4) == 0 &&
		    csock_recv_tag(c->srv_a, "PLCS", WAIT_MS, &e, buf, sizeof(buf)) >= 0)
			o->pm_seen = e.addr;
		close(seen);
	}
	if (!lab->gateway || !lab->client) {
		/* Port mapping is IPv4's: an IPv6-only site has none to ask. */
		for (int i = 0; i < OBS_PMAP && !lab->client; i++)
			snprintf(o->pm[i].why, sizeof(o->pm[i].why), "the client has no IPv4");
		return;
	}
	for (int i = 0; i < OBS_PMAP; i++) {
		struct obs_pmap *p = &o->pm[i];
		uint16_t port = (uint16_t)(PMAP_PORT + i);
		struct pmap_ask q = { .gateway = lab->gateway, .host = lab->client, .ifname = lab->client_if,
				      .port = port, .lifetime = 120 };
		int fd = csock_udp(lab->client_ns, lab->client, port);
		uint32_t at;

		if (fd < 0)
			continue;
		p->asked = true;
		ask(lab, pmap_protocols[i], &q);
		if (!q.got) {
			snprintf(p->why, sizeof(p->why), "%s", q.why);
			close(fd);
			continue;
		}
		p->granted = true;
		p->ext_addr = q.ext_addr;
		p->ext_port = q.ext_port;
		p->lifetime = q.granted;
		at = q.ext_addr ? q.ext_addr : o->pm_seen;
		if (at)
			p->inbound = reaches(c, from++, at, p->ext_port, fd);
		q.lifetime = 0;
		ask(lab, pmap_protocols[i], &q);
		p->removed = q.got;
		if (at && q.got)
			p->after = reaches(c, from++, at, p->ext_port, fd);
		close(fd);
	}
}
