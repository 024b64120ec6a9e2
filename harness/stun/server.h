/* The lab's STUN server: RFC 5389 binding on two addresses and two ports,
 * with RFC 5780 CHANGE-REQUEST, RESPONSE-PORT, OTHER-ADDRESS and
 * RESPONSE-ORIGIN so that clients can discover NAT behaviour. */
#ifndef PL_STUN_SERVER_H
#define PL_STUN_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct stun_server_cfg {
	uint32_t primary, alternate;   /* network order; alternate 0: none */
	uint16_t port, alt_port;       /* host order; alt_port 0: none */
	int ready_fd;                  /* >= 0: "ready\n" is written here once bound */
	bool verbose;
};

struct stun_server_stats {
	unsigned long requests, responses, errors, dropped;
};

/* Serve until SIGINT/SIGTERM (or *stop turns non-zero). Bind errors return
 * -errno with a message in err. */
int stun_server_run(const struct stun_server_cfg *cfg, volatile int *stop, struct stun_server_stats *st,
		    char *err, size_t errlen);
/* Answer one datagram that arrived on socket (addr_idx, port_idx) from
 * src: fills out/out_len and which socket and destination to send from/to.
 * Returns false when nothing is to be sent (not a binding request, malformed).
 * Pure: used by the server loop and by the fuzz target. */
bool stun_server_answer(const struct stun_server_cfg *cfg, int addr_idx, int port_idx, const uint8_t *in,
			size_t in_len, uint32_t src_addr, uint16_t src_port, uint8_t *out, size_t *out_len,
			int *send_addr_idx, int *send_port_idx, uint16_t *dst_port);

#endif
