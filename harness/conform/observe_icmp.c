/* RFC 5508's ICMP requirements: echo through the NAT with its identifier
 * translated, and an outside ICMP error reaching the inside socket it is
 * about. And RFC 6888's per-subscriber port limit. */
#include "observe_int.h"
#include "../../lib/csum/csum.h"
#include "../../lib/util/timeutil.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <linux/errqueue.h>
#include <sys/socket.h>
#include <unistd.h>

#define ECHO_ID 0x504c
#define WAIT_MS 600

int observe_send_echo(int fd, uint8_t type, uint32_t dst, uint16_t id, uint16_t seq)
{
	uint8_t pkt[16] = { type, 0, 0, 0, (uint8_t)(id >> 8), (uint8_t)id, (uint8_t)(seq >> 8), (uint8_t)seq,
			    'P', 'L', 'C', ' ', 'e', 'c', 'h', 'o' };
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = dst };
	uint16_t sum = csum_inet(pkt, sizeof(pkt), 0);

	pkt[2] = (uint8_t)(sum >> 8);
	pkt[3] = (uint8_t)sum;
	return sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&sa, sizeof(sa)) == (ssize_t)sizeof(pkt) ? 0 : -errno;
}

/* Wait on a raw ICMP socket for TYPE with sequence seq; the identifier and
 * the outer source come back. */
bool observe_wait_icmp(int fd, uint8_t type, uint16_t seq, int ms, uint16_t *id, uint32_t *from)
{
	uint64_t end = time_now_ms() + (uint64_t)ms;
	uint8_t buf[1500];

	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		uint64_t now = time_now_ms();
		ssize_t n;
		size_t hl;

		if (now >= end || poll(&p, 1, (int)(end - now)) <= 0)
			return false;
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 20)
			continue;
		hl = (size_t)(buf[0] & 0x0f) * 4;
		if ((size_t)n < hl + 8 || buf[hl] != type || (uint16_t)(buf[hl + 6] << 8 | buf[hl + 7]) != seq)
			continue;
		*id = (uint16_t)(buf[hl + 4] << 8 | buf[hl + 5]);
		memcpy(from, buf + 12, 4);
		return true;
	}
}

/* RFC 5508 REQ-1: an echo from inside gets its reply. */
static void echo(struct obs_ctx *c, struct conform_obs *o)
{
	int in = csock_new(c->lab->client_ns, SOCK_RAW, IPPROTO_ICMP);
	int out = csock_new(c->lab->server_ns, SOCK_RAW, IPPROTO_ICMP);
	uint32_t from;

	o->echo = OBS_UNKNOWN;
	o->echo_id_in = ECHO_ID;
	if (in < 0 || out < 0)
		goto out;
	o->echo = 0;
	for (uint16_t seq = 1; seq <= 3 && o->echo != 1; seq++) {
		uint16_t id;

		observe_send_echo(in, 8, c->lab->server[0], ECHO_ID, seq);
		if (observe_wait_icmp(out, 8, seq, WAIT_MS / 2, &o->echo_id_out, &o->echo_from) &&
		    observe_wait_icmp(in, 0, seq, WAIT_MS, &id, &from) && id == ECHO_ID)
			o->echo = 1;
	}
out:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
}

/* RFC 5508 REQ-4: a datagram to a closed port outside; the server's "port
 * unreachable" must reach the inside socket, its embedded header turned
 * back to the inside address. */
static void error_back(struct obs_ctx *c, struct conform_obs *o)
{
	int fd = csock_udp(c->lab->client_ns, 0, 41800), on = 1;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = c->lab->server[0], .sin_port = htons(5009) };

	o->icmp_error = OBS_UNKNOWN;
	if (fd < 0)
		return;
	setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof(on));
	if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		o->icmp_error = 0;
		for (int i = 0; i < 3 && o->icmp_error != 1; i++) {
			struct pollfd p = { fd, 0, 0 };
			char ctl[256];
			uint8_t data[16];
			struct iovec iov = { data, sizeof(data) };
			struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl) };

			if (send(fd, "PLC closed", 10, 0) < 0 && errno != ECONNREFUSED)
				break;
			if (poll(&p, 1, WAIT_MS) != 1 || recvmsg(fd, &mh, MSG_ERRQUEUE) < 0)
				continue;
			for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
				struct sock_extended_err ee;

				memcpy(&ee, CMSG_DATA(cm), sizeof(ee));
				if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_RECVERR &&
				    ee.ee_origin == SO_EE_ORIGIN_ICMP && ee.ee_type == 3 && ee.ee_code == 3)
					o->icmp_error = 1;
			}
		}
	}
	close(fd);
}

void observe_icmp(struct obs_ctx *c, struct conform_obs *o)
{
	echo(c, o);
	error_back(c, o);
}

/* One of the limit test's flows arrived: its outside port is taken now. */
static void limit_seen(struct obs_ctx *c, const struct obs_ep *from, uint8_t *buf, size_t len, int *seen)
{
	int i;

	buf[len] = '\0'; /* the caller left room */
	obs_port_used(c, from->port);
	if (!c->limit_ext.addr && sscanf((const char *)buf, "PLC limit %d", &i) == 1 && i >= 0 && i < 1200) {
		c->limit_ext = *from;
		c->limit_local = (uint16_t)(20000 + i);
	}
	(*seen)++;
}

/* RFC 6888 REQ-4 and RFC 5508 REQ-8: one subscriber opens flow after flow
 * (a socket each, closed at once: the mapping stays) until the carrier NAT
 * stops mapping them; what comes back for the refused ones? */
void observe_carrier(struct obs_ctx *c, struct conform_obs *o)
{
	const int tries = 1200;
	int srv = csock_udp(c->lab->server_ns, c->lab->server[1], CARRIER_PORT), icmp = csock_new(c->lab->client_ns, SOCK_RAW, IPPROTO_ICMP);
	int big = 4 << 20, seen = 0, len;
	uint8_t buf[64];
	struct obs_ep from;

	o->limit_tried = o->limit_mapped = 0;
	o->limit_icmp_type = o->limit_icmp_code = -1;
	if (srv < 0 || icmp < 0)
		goto out;
	setsockopt(srv, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	for (int i = 0; i < tries; i++) {
		int fd = csock_udp(c->lab->client_ns, 0, (uint16_t)(20000 + i));
		char tag[24];

		if (fd < 0)
			continue;
		snprintf(tag, sizeof(tag), "PLC limit %d", i);
		csock_send(fd, c->lab->server[1], CARRIER_PORT, tag, strlen(tag));
		close(fd);
		o->limit_tried++;
		/* Drain as we go so the server's queue never overflows; every 50
		 * flows, give the NAT time to catch up (a userspace NAT on a loaded
		 * machine drops a burst, and a lost flow leaves its port unused). */
		while ((len = csock_recv_tag(srv, "PLC limit", 0, &from, buf, sizeof(buf) - 1)) >= 0)
			limit_seen(c, &from, buf, (size_t)len, &seen);
		if (o->limit_tried % 50 == 0)
			for (int waited = 0; seen < o->limit_tried && waited < 300; waited += 20)
				while ((len = csock_recv_tag(srv, "PLC limit", 20, &from, buf, sizeof(buf) - 1)) >= 0)
					limit_seen(c, &from, buf, (size_t)len, &seen);
	}
	while ((len = csock_recv_tag(srv, "PLC limit", 300, &from, buf, sizeof(buf) - 1)) >= 0)
		limit_seen(c, &from, buf, (size_t)len, &seen);
	o->limit_mapped = seen;
	/* Anything the NAT said about the refused flows. */
	for (;;) {
		struct pollfd p = { icmp, POLLIN, 0 };
		uint8_t pkt[256];
		ssize_t n;

		if (poll(&p, 1, 0) <= 0)
			break;
		n = recv(icmp, pkt, sizeof(pkt), MSG_DONTWAIT);
		if (n >= 28 && pkt[20] == 3) {
			o->limit_icmp_type = pkt[20];
			o->limit_icmp_code = pkt[21];
		}
	}
out:
	if (srv >= 0)
		close(srv);
	if (icmp >= 0)
		close(icmp);
}
