/* What time does to mappings (--long), on one timeline that begins before
 * the carrier test and ends after it: at 0 three UDP
 * mappings (each answered once) and an ICMP echo; at refresh_s/2 one
 * mapping hears from the inside, one from the outside, one from nobody; at
 * icmp_s the server answers the echo again; at refresh_s it sends to all
 * three mappings; at holddown_s a carrier NAT whose port limit was
 * reached just before is asked for a port again. RFC 4787 REQ-6
 * (refresh), RFC 5508 REQ-2 (query mapping lifetime), RFC 6888 REQ-8
 * (port hold-down); and two TCP connections, one idle, one half-closed
 * from inside, that the server writes to at their times (RFC 5382 REQ-5). */
#include "observe_int.h"
#include "../../lib/util/timeutil.h"

#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TIME_PORT 5021
#define ECHO_ID 0x504d

enum { EV_REFRESH, EV_ICMP, EV_HOLD, EV_CHECK, EV_TCP_EST, EV_TCP_TR };
#define MAX_EV 6

/* RFC 6888 REQ-8: the carrier's port limit was reached before the
 * timeline began; by now those mappings are meant to have expired. Does a
 * new flow get one of their ports at once? And if none, are they gone?
 * A port the limit test never saw in use (its flow was lost on the way,
 * on a loaded machine) is free without any hold-down: new flows take those
 * first, so they go on until one gets a port seen before (reused), or five
 * in a row get none (held), or HOLD_FLOWS are spent (nothing to tell). */
#define HOLD_FLOWS 200
#define HOLD_NONE_IN_ROW 5

static void hold_down(struct obs_ctx *c, struct conform_obs *o)
{
	int srv = csock_udp(c->lab->server_ns, c->lab->server[1], CARRIER_PORT), old = -1, none = 0;
	uint8_t buf[64];

	if (srv < 0)
		return;
	o->hold_fresh = 0;
	for (int i = 0; i < HOLD_FLOWS && !o->hold_reused && none < HOLD_NONE_IN_ROW; i++) {
		int fd = csock_udp(c->lab->client_ns, 0, (uint16_t)(29000 + i));
		struct obs_ep e;
		char tag[24];
		bool got = false;

		if (fd < 0)
			continue;
		snprintf(tag, sizeof(tag), "PLC hold %d", i);
		for (int k = 0; k < 2 && !got; k++) {
			csock_send(fd, c->lab->server[1], CARRIER_PORT, tag, strlen(tag));
			got = csock_recv_tag(srv, tag, 300, &e, buf, sizeof(buf)) >= 0;
		}
		close(fd);
		if (!got) {
			none++;
			continue;
		}
		none = 0;
		o->hold_port = e.port;
		o->hold_reused = c->used_ports[e.port / 8] & (1u << (e.port % 8));
		if (!o->hold_reused) {
			o->hold_fresh++;
			obs_port_used(c, e.port);
		}
	}
	/* 1: a port was given out (reused, or never an end to fresh ones);
	 * 0: the new flows ran out of ports. */
	o->hold_new = o->hold_reused || none < HOLD_NONE_IN_ROW;
	if (!o->hold_new && (old = csock_udp(c->lab->client_ns, 0, c->limit_local)) >= 0) {
		csock_send(srv, c->limit_ext.addr, c->limit_ext.port, "PLC hold old", 12);
		o->hold_old_alive = csock_recv_tag(old, "PLC hold old", 600, NULL, buf, sizeof(buf)) >= 0;
		close(old);
	}
	close(srv);
}

/* A TCP connection through the NAT to the server's port, both ends kept;
 * half-closed from inside (a FIN out, the server still may send) when
 * half is set. */
static bool tcp_pair(struct obs_ctx *c, uint16_t port, bool half, int ends[2])
{
	int lst = csock_tcp(c->lab->server_ns, c->lab->server[0], port);
	char b;
	bool ok = false;

	ends[0] = ends[1] = -1;
	if (lst < 0 || listen(lst, 1))
		goto out;
	ends[0] = csock_tcp(c->lab->client_ns, 0, 0);
	if (ends[0] < 0 || csock_connect_start(ends[0], c->lab->server[0], port) || csock_connect_wait(ends[0], 1500) ||
	    (ends[1] = csock_accept(lst, 1500, NULL)) < 0)
		goto out;
	ok = true;
	if (half) {
		struct pollfd p = { ends[1], POLLIN, 0 };

		/* the server sees the FIN (end of file) and stays open */
		ok = !shutdown(ends[0], SHUT_WR) && poll(&p, 1, 1500) == 1 && read(ends[1], &b, 1) == 0;
	}
out:
	if (lst >= 0)
		close(lst);
	return ok;
}

/* The server sends a byte on its end; does the client's end get it? */
static int tcp_alive(int ends[2])
{
	struct pollfd p = { ends[0], POLLIN, 0 };
	char b = 0;

	if (write(ends[1], "t", 1) != 1)
		return 0;
	return poll(&p, 1, 1500) == 1 && read(ends[0], &b, 1) == 1 && b == 't';
}

static void sleep_until(uint64_t t)
{
	uint64_t now = time_now_ms();

	if (t > now)
		usleep((useconds_t)((t - now) * 1000));
}

void observe_time_begin(struct obs_ctx *c, struct conform_obs *o)
{
	const struct conform_timing *tm = &c->lab->timing;
	struct obs_timeline *tl = &c->tl;
	uint8_t buf[64];
	uint16_t id;
	uint32_t from;

	o->refresh_out = o->refresh_in = o->refresh_none = o->icmp_alive = OBS_UNKNOWN;
	o->hold_new = o->hold_old_alive = OBS_UNKNOWN;
	tl->srv = csock_udp(c->lab->server_ns, c->lab->server[0], TIME_PORT);
	tl->in = csock_new(c->lab->client_ns, SOCK_RAW, IPPROTO_ICMP);
	tl->out = csock_new(c->lab->server_ns, SOCK_RAW, IPPROTO_ICMP);
	for (int i = 0; i < 3; i++)
		tl->fd[i] = -1;
	tl->est[0] = tl->est[1] = tl->tr[0] = tl->tr[1] = -1;
	o->tcp_est_alive = o->tcp_tr_alive = OBS_UNKNOWN;
	tl->t0 = time_now_ms();
	if (tl->srv < 0 || tl->in < 0 || tl->out < 0)
		return;
	tl->refresh = tm->refresh_s > 0;
	for (int i = 0; i < 3 && tl->refresh; i++) {
		char tag[32];

		tl->fd[i] = csock_udp(c->lab->client_ns, 0, (uint16_t)(41900 + i));
		snprintf(tag, sizeof(tag), "PLC time open %d", i);
		/* answered once, as a real flow is */
		tl->refresh = tl->fd[i] >= 0 && !csock_send(tl->fd[i], c->lab->server[0], TIME_PORT, tag, strlen(tag)) &&
			      csock_recv_tag(tl->srv, tag, 1000, &tl->ep[i], buf, sizeof(buf)) >= 0 &&
			      (obs_port_used(c, tl->ep[i].port), true) &&
			      !csock_send(tl->srv, tl->ep[i].addr, tl->ep[i].port, "PLC time answer", 15) &&
			      csock_recv_tag(tl->fd[i], "PLC time answer", 1000, NULL, buf, sizeof(buf)) >= 0;
	}
	if (tm->tcp_est_s)
		tl->tcp_est = tcp_pair(c, 6040, false, tl->est);
	if (tm->tcp_tr_s)
		tl->tcp_tr = tcp_pair(c, 6041, true, tl->tr);
	if (tm->icmp_s) {
		observe_send_echo(tl->in, 8, c->lab->server[0], ECHO_ID, 1);
		tl->icmp = observe_wait_icmp(tl->out, 8, 1, 1000, &tl->echo_out, &tl->echo_from) &&
			   observe_wait_icmp(tl->in, 0, 1, 1000, &id, &from);
	}
}

void observe_time_end(struct obs_ctx *c, struct conform_obs *o)
{
	const struct conform_timing *tm = &c->lab->timing;
	struct obs_timeline *tl = &c->tl;
	int *alive[3] = { &o->refresh_out, &o->refresh_in, &o->refresh_none };
	struct { unsigned at; int what; } ev[MAX_EV];
	uint8_t buf[64];
	uint16_t id;
	uint32_t from;
	int n_ev = 0;

	if (tl->refresh) {
		ev[n_ev].at = tm->refresh_s / 2, ev[n_ev++].what = EV_REFRESH;
		ev[n_ev].at = tm->refresh_s, ev[n_ev++].what = EV_CHECK;
		o->refresh_s = tm->refresh_s;
	}
	if (tl->icmp) {
		ev[n_ev].at = tm->icmp_s, ev[n_ev++].what = EV_ICMP;
		o->icmp_s = tm->icmp_s;
	}
	if (tm->holddown_s && o->carrier && c->limit_ext.addr && o->limit_mapped < o->limit_tried) {
		ev[n_ev].at = tm->holddown_s, ev[n_ev++].what = EV_HOLD;
		o->hold_s = tm->holddown_s;
	}
	if (tl->tcp_est) {
		ev[n_ev].at = tm->tcp_est_s, ev[n_ev++].what = EV_TCP_EST;
		o->tcp_est_s = tm->tcp_est_s;
	}
	if (tl->tcp_tr) {
		ev[n_ev].at = tm->tcp_tr_s, ev[n_ev++].what = EV_TCP_TR;
		o->tcp_tr_s = tm->tcp_tr_s;
	}
	/* in time order */
	for (int i = 0; i < n_ev; i++)
		for (int j = i + 1; j < n_ev; j++)
			if (ev[j].at < ev[i].at) {
				unsigned at = ev[i].at;
				int what = ev[i].what;
				ev[i] = ev[j];
				ev[j].at = at, ev[j].what = what;
			}
	for (int e = 0; e < n_ev; e++) {
		sleep_until(tl->t0 + (uint64_t)ev[e].at * 1000);
		if (ev[e].what == EV_REFRESH) {
			/* from inside (no answer), from outside (read, no answer) */
			csock_send(tl->fd[0], c->lab->server[0], TIME_PORT, "PLC time out", 12);
			csock_send(tl->srv, tl->ep[1].addr, tl->ep[1].port, "PLC time in", 11);
			csock_recv_tag(tl->fd[1], "PLC time in", 1000, NULL, buf, sizeof(buf));
		} else if (ev[e].what == EV_TCP_EST) {
			o->tcp_est_alive = tcp_alive(tl->est);
		} else if (ev[e].what == EV_TCP_TR) {
			o->tcp_tr_alive = tcp_alive(tl->tr);
		} else if (ev[e].what == EV_HOLD) {
			hold_down(c, o);
		} else if (ev[e].what == EV_ICMP) {
			/* the server answers again; only a live mapping takes it in */
			observe_send_echo(tl->out, 0, tl->echo_from, tl->echo_out, 99);
			o->icmp_alive = observe_wait_icmp(tl->in, 0, 99, 1000, &id, &from) && id == ECHO_ID;
		} else {
			for (int i = 0; i < 3; i++) {
				csock_send(tl->srv, tl->ep[i].addr, tl->ep[i].port, "PLC time check", 14);
				*alive[i] = csock_recv_tag(tl->fd[i], "PLC time check", 1000, NULL, buf, sizeof(buf)) >= 0;
			}
		}
	}
	for (int i = 0; i < 3; i++)
		if (tl->fd[i] >= 0)
			close(tl->fd[i]);
	for (int i = 0; i < 2; i++) {
		if (tl->est[i] >= 0)
			close(tl->est[i]);
		if (tl->tr[i] >= 0)
			close(tl->tr[i]);
	}
	if (tl->srv >= 0)
		close(tl->srv);
	if (tl->in >= 0)
		close(tl->in);
	if (tl->out >= 0)
		close(tl->out);
}
