#include "observe_int.h"
#include "../../lib/nl/rtnl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* RFC 6598 shared address space: what a carrier gives its subscribers. */
static bool shared_space(uint32_t a)
{
	return (ntohl(a) & 0xffc00000u) == 0x64400000u;
}

int conform_observe(const struct conform_lab *lab, struct conform_obs *o)
{
	static struct obs_ctx c;
	const struct conform_timing *tm = &lab->timing;
	bool timed = tm->refresh_s || tm->icmp_s || tm->holddown_s || tm->tcp_est_s || tm->tcp_tr_s;
	int ret = 0;

	c = (struct obs_ctx){ .lab = lab, .o = o, .srv_a = -1, .srv_b = -1, .srv_c = -1 };

	memset(o, 0, sizeof(*o));
	o->client = lab->client;
	o->carrier = shared_space(lab->client);
	c.srv_a = csock_udp(lab->server_ns, lab->server[0], 5001);
	c.srv_b = csock_udp(lab->server_ns, lab->server[1], 5001);
	c.srv_c = csock_udp(lab->server_ns, lab->server[0], 5003);
	if (c.srv_a < 0 || c.srv_b < 0 || c.srv_c < 0) {
		ret = c.srv_a < 0 ? c.srv_a : c.srv_b < 0 ? c.srv_b : c.srv_c;
		snprintf(o->note, sizeof(o->note), "cannot open the test server's sockets in %s: %s", lab->server_ns,
			 strerror(-ret));
		goto out;
	}
	/* More addresses on the server, next to its own (same /24), so a NAT
	 * that picks its outside address per destination shows it. */
	for (int i = 0; i < OBS_EXTRA_ADDRS; i++) {
		uint32_t a = htonl((ntohl(lab->server[0]) & 0xffffff00u) | (uint32_t)(200 + i));

		if (!rtnl_addr_add(lab->server_ns, lab->server_if, a, 32))
			c.extra[i] = a;
	}
	observe_udp(&c, o);
	observe_tcp(&c, o);
	observe_icmp(&c, o);
	observe_pmap(&c, o);
	if (timed)
		observe_time_begin(&c, o);
	if (o->carrier)
		observe_carrier(&c, o);
	if (timed)
		observe_time_end(&c, o);
out:
	for (int i = 0; i < OBS_EXTRA_ADDRS; i++)
		if (c.extra[i])
			rtnl_addr_del(lab->server_ns, lab->server_if, c.extra[i], 32);
	if (c.srv_a >= 0)
		close(c.srv_a);
	if (c.srv_b >= 0)
		close(c.srv_b);
	if (c.srv_c >= 0)
		close(c.srv_c);
	return ret;
}
