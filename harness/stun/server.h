/* The lab's STUN server: RFC 5389 binding on two addresses and two ports,
 * with RFC 5780 CHANGE-REQUEST, RESPONSE-PORT, OTHER-ADDRESS and
 * RESPONSE-ORIGIN so that clients can discover NAT behaviour. */
#ifndef PL_STUN_SERVER_H
#define PL_STUN_SERVER_H

#include "stun.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct stun_server_cfg {
	uint32_t primary, alternate;   /* network order; alternate 0: none */
	uint16_t port, alt_port;       /* host order; alt_port 0: none */
	int ready_fd;                  /* >= 0: "ready\n" is written here once bound */
	bool verbose;
	/* IPv6 too (has6): its two addresses, answered on the same ports
	 * (alternate6 all zero: none). */
	bool has6;
	uint8_t primary6[16], alternate6[16];
};

/* What the server sends to a source nobody has verified (anyone can
 * forge a source address, and so aim the answers at a victim): never more
 * bytes than the request had, or STUN_SERVER_MIN_ANSWER (STUN_SERVER_MIN_ANSWER6
 * to an IPv6 source; the least binding
 * answer there is: the header, XOR-MAPPED-ADDRESS and FINGERPRINT), the
 * optional attributes left out to fit (SOFTWARE, MAPPED-ADDRESS,
 * OTHER-ADDRESS, RESPONSE-ORIGIN; a client that wants them all pads its
 * request with PADDING, as punchlab's probe does); and at most
 * STUN_SERVER_BURST answers, then STUN_SERVER_PER_S a second, per source
 * address. */
#define STUN_SERVER_MIN_ANSWER 40
#define STUN_SERVER_MIN_ANSWER6 52   /* the same to an IPv6 source (its address is 16 bytes) */
#define STUN_SERVER_BURST 200
#define STUN_SERVER_PER_S 100
#define STUN_SERVER_SOURCES 256   /* addresses whose rates it remembers */

struct stun_server_stats {
	unsigned long requests, responses, errors, dropped;
	unsigned long limited;   /* over their source's rate: not answered */
};

/* Serve until SIGINT/SIGTERM (or *stop turns non-zero). Bind errors return
 * -errno with a message in err. */
int stun_server_run(const struct stun_server_cfg *cfg, volatile int *stop, struct stun_server_stats *st,
		    char *err, size_t errlen);
/* The server in a child process in namespace NETNS, on a1 and a2 (network
 * order), ports PORT and PORT + 1; returns once it listens (-ETIMEDOUT
 * after 5 s: the child is then the caller's to stop). SIGTERM ends it.
 * log_fd >= 0: its standard output and error go there (and its input is
 * /dev/null), for a service that outlives its starter; -1: inherited. */
int stun_server_spawn(const char *netns, uint32_t a1, uint32_t a2, uint16_t port, int log_fd, pid_t *pid);
/* The same with cfg (its ready_fd is the spawn's own). */
int stun_server_spawn_cfg(const char *netns, const struct stun_server_cfg *cfg, int log_fd, pid_t *pid);
/* Answer one datagram that arrived on socket (addr_idx, port_idx) from
 * src: fills out/out_len (within the bound above) and which socket and
 * destination to send from/to. Returns false when nothing is to be sent
 * (not a binding request, malformed, or no answer fits the bound). Pure:
 * used by the server loop and by the fuzz target. */
bool stun_server_answer(const struct stun_server_cfg *cfg, int addr_idx, int port_idx, const uint8_t *in,
			size_t in_len, const struct stun_addr *src, uint8_t *out, size_t *out_len,
			int *send_addr_idx, int *send_port_idx, uint16_t *dst_port);

/* May an answer go to src's address now? Takes one of its tokens from
 * table (STUN_SERVER_SOURCES slots); now_ms on any monotonic clock. The
 * server loop's limit, and the fuzz target's. */
struct bucket_slot;
bool stun_server_rate_ok(struct bucket_slot *table, const struct stun_addr *src, uint64_t now_ms);

#endif
