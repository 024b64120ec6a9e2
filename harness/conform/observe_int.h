/* Shared by the observation files of harness/conform: the lab and the
 * server sockets every test uses. */
#ifndef PL_CONFORM_OBSERVE_INT_H
#define PL_CONFORM_OBSERVE_INT_H

#include "observe.h"
#include "sock.h"

#define OBS_EXTRA_ADDRS 6

/* The --long timeline's state between its beginning and its end. */
struct obs_timeline {
	int srv, in, out, fd[3];
	int est[2], tr[2];              /* TCP: client and server ends */
	struct obs_ep ep[3];
	uint16_t echo_out;
	uint32_t echo_from;
	uint64_t t0;
	bool refresh, icmp, tcp_est, tcp_tr; /* their set-up worked */
};

struct obs_ctx {
	const struct conform_lab *lab;
	struct conform_obs *o;
	int srv_a, srv_b, srv_c;        /* UDP: server[0]:5001, server[1]:5001, server[0]:5003 */
	uint32_t extra[OBS_EXTRA_ADDRS]; /* more server addresses (0: not added) */
	uint8_t used_ports[8192];        /* outside UDP ports any test's flow got (bits) */
	uint16_t limit_local;            /* one of those flows: its inside port, */
	struct obs_ep limit_ext;         /* and where it was seen */
	struct obs_timeline tl;
};

#define CARRIER_PORT 5007

/* An outside UDP port seen in use (a hold-down can only be judged on a
 * port known to have been given out before). */
static inline void obs_port_used(struct obs_ctx *c, uint16_t port)
{
	c->used_ports[port / 8] |= (uint8_t)(1u << (port % 8));
}

/* An ICMP echo (type 8) or echo reply (0) to dst; on a raw ICMP socket,
 * wait up to ms for TYPE with sequence seq (its id and outer source back). */
int observe_send_echo(int fd, uint8_t type, uint32_t dst, uint16_t id, uint16_t seq);
bool observe_wait_icmp(int fd, uint8_t type, uint16_t seq, int ms, uint16_t *id, uint32_t *from);

void observe_udp(struct obs_ctx *c, struct conform_obs *o);
void observe_tcp(struct obs_ctx *c, struct conform_obs *o);
void observe_icmp(struct obs_ctx *c, struct conform_obs *o);
void observe_carrier(struct obs_ctx *c, struct conform_obs *o);
void observe_pmap(struct obs_ctx *c, struct conform_obs *o);
/* The timeline's set-up at 0, and the rest of it (waits until the end). */
void observe_time_begin(struct obs_ctx *c, struct conform_obs *o);
void observe_time_end(struct obs_ctx *c, struct conform_obs *o);

#endif
