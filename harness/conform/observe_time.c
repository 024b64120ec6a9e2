/* What time does to mappings (--long), on one timeline: at 0 three UDP
 * mappings (each answered once) and an ICMP echo; at refresh_s/2 one
 * mapping hears from the inside, one from the outside, one from nobody; at
 * icmp_s the server answers the echo again; at refresh_s it sends to all
 * three mappings. RFC 4787 REQ-6 (refresh) and RFC 5508 REQ-2 (query
 * mapping lifetime). */
#include "observe_int.h"
#include "../util/timeutil.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TIME_PORT 5021
#define ECHO_ID 0x504d

enum { EV_REFRESH, EV_ICMP, EV_CHECK };

static void sleep_until(uint64_t t)
{
	uint64_t now = time_now_ms();

	if (t > now)
		usleep((useconds_t)((t - now) * 1000));
}

void observe_time(struct obs_ctx *c, struct conform_obs *o)
{
	const struct conform_timing *tm = &c->lab->timing;
	int srv = csock_udp(c->lab->server_ns, c->lab->server[0], TIME_PORT);
	int in = csock_new(c->lab->client_ns, SOCK_RAW, IPPROTO_ICMP), out = csock_new(c->lab->server_ns, SOCK_RAW, IPPROTO_ICMP);
	int fd[3] = { -1, -1, -1 }, *alive[3] = { &o->refresh_out, &o->refresh_in, &o->refresh_none };
	struct obs_ep ep[3];
	struct { unsigned at; int what; } ev[3];
	uint16_t echo_out = 0, id;
	uint32_t echo_from = 0, from;
	uint8_t buf[64];
	uint64_t t0;
	int n_ev = 0;

	o->refresh_out = o->refresh_in = o->refresh_none = o->icmp_alive = OBS_UNKNOWN;
	if (srv < 0 || in < 0 || out < 0)
		goto out;
	t0 = time_now_ms();
	if (tm->refresh_s) {
		for (int i = 0; i < 3; i++) {
			char tag[32];

			fd[i] = csock_udp(c->lab->client_ns, 0, (uint16_t)(41900 + i));
			snprintf(tag, sizeof(tag), "PLC time open %d", i);
			if (fd[i] < 0 || csock_send(fd[i], c->lab->server[0], TIME_PORT, tag, strlen(tag)) ||
			    csock_recv_tag(srv, tag, 1000, &ep[i], buf, sizeof(buf)) < 0)
				goto out;
			/* answered once, as a real flow is */
			csock_send(srv, ep[i].addr, ep[i].port, "PLC time answer", 15);
			if (csock_recv_tag(fd[i], "PLC time answer", 1000, NULL, buf, sizeof(buf)) < 0)
				goto out;
		}
		ev[n_ev].at = tm->refresh_s / 2, ev[n_ev++].what = EV_REFRESH;
		ev[n_ev].at = tm->refresh_s, ev[n_ev++].what = EV_CHECK;
		o->refresh_s = tm->refresh_s;
	}
	if (tm->icmp_s) {
		observe_send_echo(in, 8, c->lab->server[0], ECHO_ID, 1);
		if (observe_wait_icmp(out, 8, 1, 1000, &echo_out, &echo_from) && observe_wait_icmp(in, 0, 1, 1000, &id, &from)) {
			ev[n_ev].at = tm->icmp_s, ev[n_ev++].what = EV_ICMP;
			o->icmp_s = tm->icmp_s;
		}
	}
	/* in time order (at most three events) */
	for (int i = 0; i < n_ev; i++)
		for (int j = i + 1; j < n_ev; j++)
			if (ev[j].at < ev[i].at) {
				unsigned at = ev[i].at;
				int what = ev[i].what;
				ev[i] = ev[j];
				ev[j].at = at, ev[j].what = what;
			}
	for (int e = 0; e < n_ev; e++) {
		sleep_until(t0 + (uint64_t)ev[e].at * 1000);
		if (ev[e].what == EV_REFRESH) {
			/* from inside (no answer), from outside (read, no answer) */
			csock_send(fd[0], c->lab->server[0], TIME_PORT, "PLC time out", 12);
			csock_send(srv, ep[1].addr, ep[1].port, "PLC time in", 11);
			csock_recv_tag(fd[1], "PLC time in", 1000, NULL, buf, sizeof(buf));
		} else if (ev[e].what == EV_ICMP) {
			/* the server answers again; only a live mapping takes it in */
			observe_send_echo(out, 0, echo_from, echo_out, 99);
			o->icmp_alive = observe_wait_icmp(in, 0, 99, 1000, &id, &from) && id == ECHO_ID;
		} else {
			for (int i = 0; i < 3; i++) {
				csock_send(srv, ep[i].addr, ep[i].port, "PLC time check", 14);
				*alive[i] = csock_recv_tag(fd[i], "PLC time check", 1000, NULL, buf, sizeof(buf)) >= 0;
			}
		}
	}
out:
	for (int i = 0; i < 3; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	if (srv >= 0)
		close(srv);
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
}
