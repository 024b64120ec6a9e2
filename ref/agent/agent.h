/* punchlab-agent: one member of the mesh. Its state, shared by the parts
 * of the daemon: agent.c (the introducer, the data path, what arrives),
 * punch.c (candidates, punching, birthday probing, path choice), status.c
 * (what it says of itself), daemon.c (sockets, TUN, UAPI, the loop). The
 * core (agent.c, punch.c) never touches a socket or a clock: the daemon
 * hands it what arrives with the time, and it acts through agent_io; the
 * tests give it fakes and a fake clock. One thread. */
#ifndef PL_AGENT_H
#define PL_AGENT_H

#include "../mesh/conf.h"
#include "../mesh/frag.h"
#include "../mesh/natclass.h"
#include "../mesh/recent.h"
#include "../mesh/status.h"
#include "../mesh/stream.h"
#include "../wg/wg.h"
#include "../../lib/util/bucket.h"

#include <stdbool.h>
#include <stdint.h>

#define AGENT_MAX_PEERS 64
#define AGENT_MAX_TARGETS 48
#define AGENT_BDAY_SOCKETS 256     /* the hard side's extra mappings */
#define AGENT_BDAY_PROBES 4096     /* the easy side's budget of random ports */
#define AGENT_BDAY_ROUNDS 2        /* birthday rounds at once (so at most 2 x 256 extra sockets) */
#define AGENT_BDAY_EVERY_MS 300000 /* one birthday round per peer per 5 minutes */
#define AGENT_ADDR_BUDGET 300      /* pings to one address per minute (birthday rounds aside) */
#define AGENT_BUDGET_SLOTS 64

/* What kind of candidate a target is: how a path through it was found. */
enum agent_cand {
	CAND_REFLEXIVE,             /* as the introducer saw the peer (hole punching) */
	CAND_PREDICTED,             /* a port the peer's sequential allocator will give next */
	CAND_LOCAL,                 /* the peer's own interface address (same LAN) */
	CAND_PEER_REFLEXIVE,        /* where the peer's own ping came from */
	CAND_BIRTHDAY,              /* a random port, or a birthday socket's mapping */
	CAND_HAIRPIN,               /* a reflexive endpoint on our own public address (one NAT for both) */
	CAND_OPEN,                  /* a side without NAT: its own address */
	CAND_MAPPED,                /* a port the peer's router mapped on request (UPnP IGD, NAT-PMP, PCP) */
};

/* Where a ping goes (a candidate of the peer) and from which socket. */
struct agent_target {
	struct wg_endpoint ep;
	int fd;                     /* the main socket or a birthday socket */
	enum agent_cand kind;
	uint64_t opened_ms;         /* when its opener went (0: not yet; its pings wait OPEN_WAIT_MS after) */
};

struct agent_peer {
	bool used;
	struct mesh_peer_rec rec;
	struct wg_peer *wg;
	uint8_t shared[32];
	struct mesh_replay replay;  /* its control messages' counters */
	uint64_t last_heard_ms;     /* PEER from the introducer */
	uint64_t looked_up_ms;      /* peers = on-demand: when we last asked for its record again */
	uint64_t rec_counter;       /* the introducer's counter on the record we hold: an older one never replaces it */
	/* The path WireGuard takes now. */
	bool direct;
	struct wg_endpoint direct_ep;
	struct wg_endpoint dev_ep_seen;  /* the device's endpoint for it when we last looked (roaming) */
	int direct_fd;
	enum agent_cand found_by;   /* the kind of candidate the path went through */
	struct wg_endpoint better_ep;    /* a better path's candidate, and its pongs in a row */
	int better_pongs;
	double rtt_ms;
	uint64_t direct_since_ms, last_pong_ms, next_ping_ms;
	/* The direct path's MTU, probed (packetization-layer, RFC 8899's
	 * way: padded pings, no ICMP needed): the largest datagram seen to
	 * pass (0: none yet); larger WireGuard packets go in pieces (frag.h). */
	uint16_t pmtu_ok;
	uint64_t pmtu_next_ms, pmtu_sent_ms;   /* the next probe; the one awaiting its pong (0: none) */
	int pmtu_lost;              /* probes in a row that went unanswered */
	/* What is expected, and the punching toward it. */
	struct expect_result expect;
	bool impossible;            /* measured: no direct path (until a network changes) */
	bool punching;
	uint32_t round;
	uint64_t round_ms, next_send_ms, next_connect_ms, connect_sent_ms;
	bool connect_soon;          /* ask as soon as both NATs are measured, not at next_connect_ms */
	uint32_t send_gap_ms;       /* this round's next gap between pings (it doubles, up to a ceiling) */
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
	uint64_t bday_last_ms;      /* when its last birthday round began (0: never) */
	uint64_t backoff_until_ms;  /* after a failed round: no other round, ours or a PUNCH's, until then */
};

/* What the core does to the world. Sockets are numbers the io gives out:
 * the main one (WireGuard, discovery, punching) and birthday sockets. */
struct agent_io {
	void *ctx;
	/* The wall clock (CLOCK_REALTIME, ns): message counters carry it. */
	uint64_t (*real_ns)(void *ctx);
	/* A datagram from socket sock to `to`, with this TTL (0: the default). */
	int (*send)(void *ctx, int sock, const uint8_t *buf, size_t len, const struct wg_endpoint *to, int ttl);
	/* A new UDP socket on any port (birthday probing): its number, or -errno. */
	int (*open_socket)(void *ctx);
	void (*close_socket)(void *ctx, int sock);
	/* TCP to the introducer: start connecting (agent_tcp_connected,
	 * agent_tcp_input and agent_tcp_closed say what happens next), write
	 * one frame (0, -EAGAIN dropped, -EPIPE gone), close. */
	int (*tcp_connect)(void *ctx, const struct wg_endpoint *to);
	int (*tcp_write)(void *ctx, const uint8_t *buf, size_t len);
	void (*tcp_close)(void *ctx);
	/* A decrypted inner packet, for the TUN device. */
	void (*deliver)(void *ctx, const uint8_t *pkt, size_t len);
	/* Put our mesh addresses on the interface. */
	int (*set_address)(void *ctx, uint32_t mesh4, uint8_t plen4, const uint8_t mesh6[16], uint8_t plen6);
	/* This host's addresses, for local candidates (the core sets the port). */
	int (*local_addresses)(void *ctx, struct wg_endpoint *out, int max);
	/* Ask our router, in the background, to map our port for lifetime_s
	 * seconds (0: remove the mapping we hold); agent_portmap_answer says
	 * what came of it. NULL: no port mapping (tests). -errno if it cannot
	 * be asked now. */
	int (*portmap)(void *ctx, uint32_t lifetime_s);
};

/* What our router said when asked for a port mapping (io.portmap). */
struct agent_portmap_answer {
	unsigned by;                /* the NAT_PORTMAP_* bit that granted it (0: none did) */
	struct wg_endpoint ext;     /* the mapped endpoint (its address 0 if the router did not say) */
	uint32_t lifetime_s;        /* granted */
	char why[200];              /* none granted: what each protocol said */
};

/* The port mapping we hold: asked for once registered, renewed at half
 * its lifetime, asked again every AGENT_PORTMAP_RETRY_MS when no router
 * grants one, removed at exit (agent_stop). Offered to peers only when
 * its address is the one the introducer sees us from: behind a carrier
 * NAT, a home router's mapping opens nothing outside. */
#define AGENT_PORTMAP_LIFETIME_S 7200
#define AGENT_PORTMAP_RETRY_MS 300000
struct agent_portmap {
	bool asking;                /* an ask is out */
	struct agent_portmap_answer got;   /* the last answer (got.by 0: no mapping) */
	uint64_t got_ms, next_ms;   /* when granted; when to ask next (0: once registered) */
	uint64_t asked_ms;          /* when last asked */
	bool removed;               /* removed (at exit): never offered again */
};

struct agent {
	struct agent_conf conf;
	struct agent_io io;
	uint8_t pub[WG_KEY_LEN];
	uint8_t intro_shared[32];
	uint8_t mac1_key[32];       /* the cheap MAC of messages to us (our public key's) */
	/* The introducer's proofs that our address is ours, per its address
	 * (indexed by "via": 0, 1, MESH_VIA_UDP6). */
	uint8_t proof[MESH_VIAS][MESH_PROOF_LEN];
	bool has_proof[MESH_VIAS];
	uint64_t proof_sent_ms[MESH_VIAS];
	/* Its cookies for our address, per its address, when it is over its
	 * budget (a COOKIE): our REGISTERs in full go in COOKIED with them. */
	uint8_t cookie[MESH_VIAS][MESH_COOKIE_LEN];
	uint64_t cookie_ms[MESH_VIAS];          /* when it came (0: none) */
	uint64_t cookie_sent_ms[MESH_VIAS];     /* our last REGISTER sent at once for one */
	/* The mac1s of our last REGISTERs in full to each: a COOKIE answers one. */
#define AGENT_COOKIE_ASKS 12
	uint8_t reg_mac1[MESH_VIAS][AGENT_COOKIE_ASKS][MESH_MAC1_LEN];
	int reg_mac1_next[MESH_VIAS];
	struct mesh_replay intro_replay;
	struct wg_device *dev;
	int udp;                    /* the main socket's number (IPv4 and IPv6: the io sends on the right one) */
	int udp6;                   /* the daemon's IPv6 socket on the same port (-1: none; in tests) */
	int tun, uapi, status, tcp_fd;   /* the daemon's: -1 in tests */
	char uapi_path[108], status_path[108];
	uint16_t port;
	struct mesh_counter counter; /* of the control messages we send */
	uint8_t txid_key[16];       /* the MAC key of our pings' txids (punch.c) */
	uint64_t session;           /* this process's session with the introducer (random) */
	/* The introducer. */
	bool tcp;                   /* a connection exists (connecting while !tcp_up) */
	bool tcp_up;
	uint64_t tcp_up_ms;         /* when TCP first reached the introducer (0: never) */
	bool silence_said;          /* "answers TCP but not our REGISTER" said */
	struct mesh_stream tcp_in;
	bool registered, refused;
	double intro_rtt_ms;         /* to the introducer's two addresses (an IPv6-only host: its IPv6 one), smoothed (0: not measured) */
	/* Our last plain REGISTER to each, until answered (0: none), without a
	 * proof ([0]: a PROVE or a REGISTERED answers it) and with one ([1]:
	 * a REGISTERED answers it), and whether it went while an earlier one
	 * of its kind was unanswered (then no RTT sample from it). */
	uint64_t reg_sent_ms[MESH_VIAS][2];
	bool reg_ambiguous[MESH_VIAS][2];
	uint64_t registered_at_ms;   /* the first REGISTERED (the loop's clock; 0: none yet) */
	uint8_t token[MESH_TOKEN_LEN];
	/* Our session's keys with the introducer (from REGISTERED): while it
	 * answers, what we send it goes as session messages (no X25519). */
	bool has_sid;
	uint64_t session_asked_ms;   /* our first session message since the introducer last spoke (0: none) */
	bool session_fell_back;      /* and we registered in full since, as it did not answer */
	uint8_t sid[MESH_SID_LEN];
	struct mesh_session_keys intro_keys;
	uint32_t id;
	uint32_t mesh4;
	uint8_t plen4, mesh6[16], plen6;
	bool addr_set;
	struct wg_endpoint seen[2];
	struct wg_endpoint seen6;   /* as the introducer's IPv6 address sees us (family 0: not, or not lately) */
	uint64_t seen6_ms;
	uint64_t seen_ms[2], reg_next_ms, udp_reply_ms, started_ms, tcp_next_ms, intro_heard_ms;
	uint8_t min_ttl;            /* the smallest TTL that reached the introducer (0: unknown) */
	uint8_t min_ttl6;           /* the same over IPv6 (its hop limit) */
	struct mesh_nat_class nat;
	struct wg_endpoint locals[MESH_MAX_CANDS];
	int n_locals;
	/* peers = on-demand: the mesh addresses we asked the introducer for
	 * lately (each at most once a LOOKUP_EVERY_MS). */
	struct agent_lookup {
		uint8_t family, addr[16];
		uint64_t at_ms;     /* 0: free */
	} lookups[16];
	struct agent_peer peers[AGENT_MAX_PEERS];
	uint64_t relayed_out, relayed_in, dropped_control;
	uint64_t frags_out, frags_in;   /* WireGuard packets sent and received in pieces */
	struct mesh_reasm reasm;
	/* Before the X25519 a control message costs: copies dropped, and
	 * budgets (the introducer's; everyone else's; each source address). */
	struct mesh_recent recent;
	struct bucket x25519_intro, x25519;
	struct bucket_slot x25519_src[64];
	uint64_t x25519_limited;
	bool log_verbose;
	uint64_t version_log_ms;    /* when another protocol version was last logged */
	/* While a received packet is handled: where an answer without a peer
	 * (a cookie reply) goes back, the relay's member id or the socket. */
	uint32_t reply_relay_id;
	int reply_sock;
	uint64_t listen_paused_ms;
	/* What we sent each address lately (punch.c): AGENT_ADDR_BUDGET a minute. */
	struct agent_budget {
		struct wg_endpoint ep;  /* its address counts, not its port */
		uint64_t since_ms;
		int sent;
	} budget[AGENT_BUDGET_SLOTS];  /* out of descriptors: the UAPI and status sockets wait until then */
	struct agent_portmap pmap;
	uint64_t now;               /* the loop's clock for this turn: every timer compares with it */
};

void agent_log(struct agent *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Is ep inside our mesh's IPv4 or IPv6 pool (known once registered)? */
bool agent_in_mesh(const struct agent *a, const struct wg_endpoint *ep);
/* Does this agent speak IPv6 to the world: a usable IPv6 address of its
 * own (local candidates hold no other), or the introducer saw it over
 * IPv6? */
bool agent_has_ipv6(const struct agent *a);
/* An IPv6-only host: IPv6 addresses of its own, no IPv4 one, and the
 * introducer's IPv6 address known (introducer6): it registers there
 * alone, and everything for the introducer goes there. */
bool agent_ipv6_only(const struct agent *a);
const char *agent_ep_str(const struct wg_endpoint *ep);

/* agent.c: the core. Times are monotonic milliseconds. */
/* Set up a for conf on io, whose main socket is number sock, bound to
 * port. -errno (err says why) on failure; agent_fini frees what it made. */
int agent_init(struct agent *a, const struct agent_conf *conf, const struct agent_io *io, int sock, uint16_t port,
	       uint64_t now, char *err, size_t errlen);
void agent_fini(struct agent *a);
/* A datagram that arrived on socket sock from `from` (buf is scratch). */
void agent_receive(struct agent *a, int sock, const struct wg_endpoint *from, uint8_t *buf, size_t len, uint64_t now);
/* An inner packet read from the TUN device. */
void agent_tun_packet(struct agent *a, const uint8_t *pkt, size_t len, uint64_t now);
/* Timers: registration, punching, path checks, peer expiry, WireGuard's.
 * Call at least every 20 ms, and sooner when agent_tick_in says. */
void agent_tick(struct agent *a, uint64_t now);
/* How soon (ms, 0 to 20) a punching timer falls due that the last
 * agent_tick has not yet seen. */
int agent_tick_in(const struct agent *a, uint64_t now);
/* The TCP connection to the introducer came up; bytes arrived on it; it
 * failed or closed (err: why). */
void agent_tcp_connected(struct agent *a, uint64_t now);
void agent_tcp_input(struct agent *a, const uint8_t *bytes, size_t len, uint64_t now);
void agent_tcp_closed(struct agent *a, int err, uint64_t now);
/* Seal m for a peer (or the introducer: peer NULL) and send it from fd to
 * ep with the given TTL (0: the default). */
int agent_send_control(struct agent *a, struct agent_peer *p, struct mesh_msg *m, int fd, const struct wg_endpoint *ep,
		       int ttl);
int agent_send_to_introducer(struct agent *a, struct mesh_msg *m);

/* daemon.c: the core on real sockets, a TUN device, the UAPI and status
 * sockets. */
int agent_start(struct agent *a, const struct agent_conf *conf, char *err, size_t errlen);
/* Serve until *stop (0), or until *reload turns non-zero (1: read the
 * configuration again, then call it again); -errno on failure. Then
 * agent_stop closes and removes everything. */
int agent_run(struct agent *a, volatile int *stop, volatile int *reload);
void agent_stop(struct agent *a);

/* portmap.c: the port mapping we hold (struct agent_portmap). */
/* Timers: ask once registered, renew, ask again. */
void portmap_tick(struct agent *a, uint64_t now);
/* A path through our mapping died (the router may have forgotten it): ask
 * again now, or 30 s after the last ask. */
void portmap_ask_again(struct agent *a);
/* The answer to io.portmap's ask. */
void agent_portmap_answer(struct agent *a, const struct agent_portmap_answer *ans, uint64_t now);
/* The mapping we offer peers, or NULL: none, or not on the address the
 * introducer sees us from (why, when given, says which). */
const struct wg_endpoint *portmap_offered(const struct agent *a, char *why, size_t whylen);
/* Recompute what we measured of our network (seen addresses, mapping). */
void agent_remeasure(struct agent *a);

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
/* Ask the introducer to start a round with p as soon as both NATs are
 * measured (CONNECT_WAIT_MS at the latest). */
void punch_connect_soon(struct agent *a, struct agent_peer *p);
/* The wait after the low-TTL openers before plain pings: what they need
 * to leave our NAT (and the peer's, which got its PUNCH at about the same
 * time), from our measured RTT to the introducer, with room for a busy
 * host; OPEN_WAIT_MS until it is measured. */
uint64_t punch_open_wait_ms(const struct agent *a);
/* An RTT for people ("under 1 ms", "12 ms"): pings carry ms stamps. */
const char *agent_rtt_str(double ms);
/* The technique a kind of candidate stands for ("punching", "prediction",
 * "same-lan", "birthday"), as `punchlab expect` names them. */
const char *agent_cand_technique(enum agent_cand k);
/* Close p's birthday sockets except keep (-1: all). */
void punch_close_birthday(struct agent *a, struct agent_peer *p, int keep);

/* A configuration read again (SIGHUP): the introducer (addresses, names,
 * key: a new one is registered with from scratch), name, join secret,
 * keepalive and ping interval apply now; the key, interface, listen-port
 * and mtu take a restart and are kept, each said in the log. Returns how
 * many were kept, or -EINVAL (nothing changed) for an unusable
 * introducer-key. */
int agent_reconfigure(struct agent *a, const struct agent_conf *c, uint64_t now);

/* status.c */
/* How the introducer is reached now: "tcp", "udp", "refused", or
 * "unreachable" (never answered, or silent past three keepalives). */
const char *agent_introducer_state(const struct agent *a);
/* What the agent says of itself (a table for people, JSON, whether it is
 * ready, its mesh address: enum status_request) into buf (cut at len):
 * returns its length. */
size_t status_render(struct agent *a, enum status_request req, char *buf, size_t len);
int status_listen(struct agent *a);
/* Answer one status request; 0, or accept's -errno. */
int status_serve(struct agent *a);
/* The client side: print what the agent on IFNAME says; with wait_s > 0,
 * first wait up to that long for it to be ready (registered, a peer known;
 * for its address: to have one), and say on stderr what it still waits
 * for if it is not. */
int status_print(const char *ifname, enum status_request req, int wait_s);

#endif
