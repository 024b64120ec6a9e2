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

/* An ICMP echo (type 8) or echo reply (0) to dst; on a raw ICMP socket,
 * wait up to ms for TYPE with sequence seq (its id and outer source back). */
int observe_send_echo(int fd, uint8_t type, uint32_t dst, uint16_t id, uint16_t seq);
bool observe_wait_icmp(int fd, uint8_t type, uint16_t seq, int ms, uint16_t *id, uint32_t *from);

void observe_udp(struct obs_ctx *c, struct conform_obs *o);
void observe_tcp(struct obs_ctx *c, struct conform_obs *o);
void observe_icmp(struct obs_ctx *c, struct conform_obs *o);
void observe_carrier(struct obs_ctx *c, struct conform_obs *o);
void observe_time(struct obs_ctx *c, struct conform_obs *o);

#endif
