/* RFC 5382's TCP requirements as seen from both sides of the NAT:
 * mapping, overloading, filtering, hairpinning, an unsolicited SYN and a
 * simultaneous open. */
#include "observe_int.h"
#include "../../lib/nat/model.h"
#include "../nl/nftsyn.h"
#include "../../lib/util/timeutil.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TCP_MS 1500
#define SYN_WAIT_MS 8000
#define SIMOPEN_MS 6000

static void close_all(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0) {
			close(fds[i]);
			fds[i] = -1;
		}
}

static int listener(const char *ns, uint32_t addr, uint16_t port)
{
	int fd = csock_tcp(ns, addr, port);

	if (fd >= 0 && listen(fd, 8)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Connect fd (already bound) to addr:port and see it arrive at the
 * listener lst: the peer the listener saw in from. The accepted socket is
 * closed; fd stays connected. */
static bool arrives(int fd, uint32_t addr, uint16_t port, int lst, struct obs_ep *from)
{
	int c;

	if (fd < 0 || lst < 0 || csock_connect_start(fd, addr, port) || csock_connect_wait(fd, TCP_MS))
		return false;
	c = csock_accept(lst, TCP_MS, from);
	if (c < 0)
		return false;
	close(c);
	return true;
}

static bool same(const struct obs_ep *a, const struct obs_ep *b)
{
	return a->addr == b->addr && a->port == b->port;
}

/* RFC 5382 REQ-4: what an unsolicited SYN to the NAT's outside address
 * gets, and when: a RST, an ICMP error (on the error queue), or nothing. */
static void unsolicited_syn(struct obs_ctx *c, struct conform_obs *o, uint32_t outside)
{
	int fd = csock_tcp(c->lab->server_ns, c->lab->server[1], 6020), on = 1;
	uint64_t t0 = time_now_ms();
	struct pollfd p;

	o->syn_answer = OBS_NOTHING;
	o->syn_ms = -1;
	if (fd < 0)
		return;
	setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof(on));
	if (csock_connect_start(fd, outside, 43999)) {
		close(fd);
		return;
	}
	p = (struct pollfd){ fd, POLLOUT, 0 };
	if (poll(&p, 1, SYN_WAIT_MS) == 1) {
		int err = 0;
		socklen_t sl = sizeof(err);
		char ctl[256];
		uint8_t data[16];
		struct iovec iov = { data, sizeof(data) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl) };

		o->syn_ms = (int)(time_now_ms() - t0);
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl);
		if (!err)
			o->syn_answer = OBS_ACCEPTED;
		else if (recvmsg(fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) >= 0)
			o->syn_answer = OBS_ICMP;
		else
			o->syn_answer = OBS_RST;
	}
	close(fd);
}

/* RFC 5382 REQ-2: a TCP simultaneous open, made to cross for certain: the
 * server drops pure SYNs to its port (our equipment, not the NAT), so the
 * inside host's SYN opens the NAT and dies there; the server's SYN must
 * then come in through the NAT to the inside host still in SYN-SENT. The
 * client's port y is mapped to m (a connection from it is open). */
static void simultaneous_open(struct obs_ctx *c, struct conform_obs *o, uint16_t y, const struct obs_ep *m)
{
	char err[160];
	int srv = -1, cli = -1;

	o->simopen = OBS_UNKNOWN;
	if (nftsyn_drop(c->lab->server_ns, 6030, true, err, sizeof(err))) {
		snprintf(c->o->note, sizeof(c->o->note), "simultaneous open not tried: %s", err);
		return;
	}
	cli = csock_tcp(c->lab->client_ns, 0, y);
	if (cli < 0 || csock_connect_start(cli, c->lab->server[1], 6030))
		goto out;
	usleep(200 * 1000);
	srv = csock_tcp(c->lab->server_ns, c->lab->server[1], 6030);
	if (srv < 0 || csock_connect_start(srv, m->addr, m->port))
		goto out;
	o->simopen = 0;
	if (!csock_connect_wait(srv, SIMOPEN_MS) && !csock_connect_wait(cli, TCP_MS)) {
		char b = 0;
		struct pollfd p = { srv, POLLIN, 0 };

		if (write(cli, "s", 1) == 1 && poll(&p, 1, TCP_MS) == 1 && read(srv, &b, 1) == 1 && b == 's')
			o->simopen = 1;
	}
out:
	if (srv >= 0)
		close(srv);
	if (cli >= 0)
		close(cli);
	nftsyn_drop(c->lab->server_ns, 6030, false, err, sizeof(err));
}

void observe_tcp(struct obs_ctx *c, struct conform_obs *o)
{
	const struct conform_lab *lab = c->lab;
	/* listeners: s1:6001 s2:6001 s1:6003 s2:6002; client sockets */
	int l[4] = { listener(lab->server_ns, lab->server[0], 6001), listener(lab->server_ns, lab->server[1], 6001),
		     listener(lab->server_ns, lab->server[0], 6003), listener(lab->server_ns, lab->server[1], 6002) };
	int s[8] = { -1, -1, -1, -1, -1, -1, -1, -1 };
	struct obs_ep m3, ep;
	uint16_t x = 42000, y = 42100;

	o->tcp = 0;
	o->tcp_mapping = o->tcp_filtering = OBS_UNKNOWN;
	o->tcp_hairpin = o->simopen = OBS_UNKNOWN;
	o->syn_answer = OBS_NOTHING;
	o->syn_ms = -1;
	/* RFC 5382 REQ-1: port x to three destinations. */
	s[0] = csock_tcp(lab->client_ns, 0, x);
	if (!arrives(s[0], lab->server[0], 6001, l[0], &o->tcp_m1))
		goto out;
	o->tcp = 1;
	s[1] = csock_tcp(lab->client_ns, 0, x);
	s[2] = csock_tcp(lab->client_ns, 0, x);
	if (arrives(s[1], lab->server[1], 6001, l[1], &o->tcp_m2) && arrives(s[2], lab->server[0], 6003, l[2], &m3))
		o->tcp_mapping = same(&o->tcp_m1, &o->tcp_m2) && same(&o->tcp_m1, &m3) ? NAT_ENDPOINT_INDEPENDENT
				 : same(&o->tcp_m1, &m3)				     ? NAT_ADDRESS_DEPENDENT
											     : NAT_ADDRESS_AND_PORT_DEPENDENT;
	/* RFC 5382 REQ-7: the second client's port x to another destination. */
	o->tcp_over1 = o->tcp_m1;
	s[3] = csock_tcp(lab->client2_ns, 0, x);
	if (!arrives(s[3], lab->server[1], 6002, l[3], &o->tcp_over2))
		memset(&o->tcp_over2, 0, sizeof(o->tcp_over2));
	/* A listener on x behind the NAT: who gets through to its mapping? */
	s[4] = listener(lab->client_ns, 0, x);
	if (s[4] >= 0) {
		int a = csock_tcp(lab->server_ns, lab->server[0], 6010), b = csock_tcp(lab->server_ns, lab->server[1], 6011);
		int h = csock_tcp(lab->client2_ns, 0, 42010);
		bool by_a = arrives(a, o->tcp_m1.addr, o->tcp_m1.port, s[4], &ep);
		bool by_b = arrives(b, o->tcp_m1.addr, o->tcp_m1.port, s[4], &ep);

		/* RFC 5382 REQ-3: filtering. */
		o->tcp_filtering = by_b ? NAT_ENDPOINT_INDEPENDENT : by_a ? NAT_ADDRESS_DEPENDENT : NAT_ADDRESS_AND_PORT_DEPENDENT;
		/* RFC 5382 REQ-8: hairpinning, from the other client. */
		o->tcp_hairpin = arrives(h, o->tcp_m1.addr, o->tcp_m1.port, s[4], &o->tcp_hairpin_from);
		if (a >= 0)
			close(a);
		if (b >= 0)
			close(b);
		if (h >= 0)
			close(h);
	}
	/* A port y mapped by an open connection, for the simultaneous open. */
	s[5] = csock_tcp(lab->client_ns, 0, y);
	if (arrives(s[5], lab->server[0], 6001, l[0], &ep)) {
		if (o->tcp_mapping == NAT_ENDPOINT_INDEPENDENT)
			simultaneous_open(c, o, y, &ep);
	}
	unsolicited_syn(c, o, o->tcp_m1.addr);
out:
	close_all(s, 8);
	close_all(l, 4);
}
