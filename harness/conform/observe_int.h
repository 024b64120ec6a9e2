/* Shared by the observation files of harness/conform: the lab and the
 * server sockets every test uses. */
#ifndef PL_CONFORM_OBSERVE_INT_H
#define PL_CONFORM_OBSERVE_INT_H

#include "observe.h"
#include "sock.h"

#define OBS_EXTRA_ADDRS 6

struct obs_ctx {
	const struct conform_lab *lab;
	struct conform_obs *o;
	int srv_a, srv_b, srv_c;        /* UDP: server[0]:5001, server[1]:5001, server[0]:5003 */
	uint32_t extra[OBS_EXTRA_ADDRS]; /* more server addresses (0: not added) */
};

void observe_udp(struct obs_ctx *c, struct conform_obs *o);
void observe_tcp(struct obs_ctx *c, struct conform_obs *o);
void observe_icmp(struct obs_ctx *c, struct conform_obs *o);
void observe_carrier(struct obs_ctx *c, struct conform_obs *o);

#endif
