/* punchlab-agent: one member of the mesh. Its state, shared by the parts
 * of the daemon: agent.c (sockets, introducer, data path, loop), punch.c
 * (candidates, punching, birthday probing, path choice), status.c (the
 * status socket). One thread. */
#ifndef PL_AGENT_H
#define PL_AGENT_H

#include "../mesh/conf.h"
#include "../mesh/natclass.h"
#include "../mesh/status.h"
#include "../mesh/stream.h"
#include "../wg/wg.h"

#include <stdbool.h>
#include <stdint.h>

#define AGENT_MAX_PEERS 64
#define AGENT_MAX_TARGETS 48
#define AGENT_BDAY_SOCKETS 256     /* the hard side's extra mappings */
#define AGENT_BDAY_PROBES 4096     /* the easy side's budget of random ports */

/* Where a ping goes (a candidate of the peer) and from which socket. */
struct agent_target {
	struct wg_endpoint ep;
	int fd;                     /* the main socket or a birthday socket */
	bool local;                 /* the peer's own interface address */
};

struct agent_peer {
	bool used;
	struct mesh_peer_rec rec;
	struct wg_peer *wg;
	uint8_t shared[32];
	struct mesh_replay replay;  /* its control messages' counters */
	uint64_t last_heard_ms;     /* PEER from the introducer */
	/* The path WireGuard takes now. */
	bool direct;
	struct wg_endpoint direct_ep;
	struct wg_endpoint dev_ep_seen;  /* the device's endpoint for it when we last looked (roaming) */
	int direct_fd;
	double rtt_ms;
	uint64_t direct_since_ms, last_pong_ms, next_ping_ms;
	/* What is expected, and the punching toward it. */
	struct expect_result expect;
	bool impossible;            /* measured: no direct path (until a network changes) */
	bool punching;
	uint32_t round;
	uint64_t round_ms, next_send_ms, next_connect_ms, connect_sent_ms;
	unsigned failures;
	char why[200];              /* why it is relayed now */
	struct agent_target targets[AGENT_MAX_TARGETS];
	int n_targets;
	/* Birthday probing: 1 = we open sockets (hard side), 2 = we probe (easy side). */
	int bday_role;
	int bday_fds[AGENT_BDAY_SOCKETS];
	int n_bday;
	int bday_probes;
	uint64_t bday_next_ms;
};

struct agent {
	struct agent_conf conf;
	uint8_t pub[WG_KEY_LEN];
	uint8_t intro_shared[32];
	struct mesh_replay intro_replay;
	struct wg_device *dev;
	int udp, tun, uapi, status;
	char uapi_path[108], status_path[108];
	uint16_t port;
	struct mesh_counter counter; /* of the control messages we send */
	uint32_t txid_hi;
	/* The introducer. */
	int tcp;                    /* -1: none; else a connection (connecting while !tcp_up) */
	bool tcp_up;
	struct mesh_stream tcp_in;
	bool registered, refused;
	uint8_t token[MESH_TOKEN_LEN];
	uint32_t id;
	uint32_t mesh4;
	uint8_t plen4, mesh6[16], plen6;
	bool addr_set;
	struct wg_endpoint seen[2];
	uint64_t seen_ms[2], reg_next_ms, udp_reply_ms, started_ms, tcp_next_ms, intro_heard_ms;
	uint8_t min_ttl;            /* the smallest TTL that reached the introducer (0: unknown) */
	struct mesh_nat_class nat;
	struct wg_endpoint locals[MESH_MAX_CANDS];
	int n_locals;
	struct agent_peer peers[AGENT_MAX_PEERS];
	uint64_t relayed_out, relayed_in, dropped_control;
	bool log_verbose;
	uint64_t now;               /* the loop's clock for this turn: every timer compares with it */
};

uint64_t agent_now_ms(void);
void agent_log(struct agent *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *agent_ep_str(const struct wg_endpoint *ep);

/* agent.c */
/* Open the socket, the TUN device, the UAPI and status sockets. */
int agent_start(struct agent *a, const struct agent_conf *conf, char *err, size_t errlen);
/* Serve until *stop; then agent_stop closes and removes everything. */
int agent_run(struct agent *a, volatile int *stop);
void agent_stop(struct agent *a);
/* Read what a UDP socket of ours (main or birthday) holds. */
void agent_read_socket(struct agent *a, int fd, uint64_t now);
/* Seal m for a peer (or the introducer: peer NULL) and send it from fd to
 * ep with the given TTL (0: the default). */
int agent_send_control(struct agent *a, struct agent_peer *p, struct mesh_msg *m, int fd, const struct wg_endpoint *ep,
		       int ttl);
int agent_send_to_introducer(struct agent *a, struct mesh_msg *m);

/* punch.c */
/* The introducer said: punch toward this peer now. */
void punch_start(struct agent *a, struct agent_peer *p, uint32_t round);
/* A PING or PONG from peer p arrived on fd from `from`. */
void punch_on_ping(struct agent *a, struct agent_peer *p, const struct mesh_msg *m, int fd, const struct wg_endpoint *from);
void punch_on_pong(struct agent *a, struct agent_peer *p, const struct mesh_msg *m, int fd, const struct wg_endpoint *from);
/* Timers: rounds, birthday probing, path checks, asking to connect. */
void punch_tick(struct agent *a, struct agent_peer *p, uint64_t now);
/* Recompute what is expected toward p (after a measurement changed). */
void punch_reassess(struct agent *a, struct agent_peer *p);
/* Close p's birthday sockets except keep (-1: all). */
void punch_close_birthday(struct agent_peer *p, int keep);

/* status.c */
int status_listen(struct agent *a);
void status_serve(struct agent *a);
/* The client side: print the status of the agent on IFNAME. */
int status_print(const char *ifname, bool json);

#endif
