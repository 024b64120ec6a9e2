/* A simulated internet for the mesh's cores, on a clock that moves only
 * when the simulation says: the real introducer core (introducer.c) on
 * 203.0.113.10/.11, and real agent cores (agent.c, punch.c) on 10.0.N.2,
 * each behind a NAT of a chosen behaviour with public address 192.0.2.N.
 * Datagrams take SIM_HOP_MS per router; TTLs die where a real router would
 * drop them; TCP to the introducer is a reliable pipe. What the tests look
 * at: what each agent's TUN device received, its status, the packets
 * counted on the way (direct between sites, or through the introducer).
 *
 * Topology of every packet: host -> its NAT (if any) -> internet router ->
 * the far side's NAT (if any) -> host; the introducer hangs off the
 * internet router. Each router takes one from the TTL. */
#ifndef PL_TESTS_SIM_H
#define PL_TESTS_SIM_H

#include "agent/agent.h"
#include "introducer/introducer.h"

#include <stdbool.h>
#include <stdint.h>

#define SIM_MAX_AGENTS 4
#define SIM_MAX_PACKETS 8192
#define SIM_MAX_MAPPINGS 2048
#define SIM_ALLOWED 128
#define SIM_MAX_SOCKETS 1100       /* per agent: the main one and birthday sockets (more than it may use) */
#define SIM_HOP_MS 1
#define SIM_EPOCH_S 1796000000ULL  /* the wall clock at virtual time 0 (2026) */

enum sim_mapping {
	SIM_NO_NAT,
	SIM_EIM,                   /* endpoint-independent, ports preserved when free */
	SIM_ADM_RANDOM,            /* per destination (address and port), random ports */
	SIM_ADM_SEQUENTIAL,        /* per destination, each new mapping the next port */
};

enum sim_filtering {
	SIM_EIF,                   /* anyone may send to a mapping */
	SIM_ADF,                   /* only addresses it sent to */
	SIM_APDF,                  /* only address and port pairs it sent to */
};

struct sim_nat {
	enum sim_mapping mapping;
	enum sim_filtering filtering;
	uint64_t timeout_ms;       /* a mapping without traffic either way lives this long (0: 120 s) */
	bool udp_blocked;          /* UDP does not leave the site (TCP does) */
	size_t max_datagram;       /* UDP payloads larger are dropped on the uplink, both ways, silently (0: none) */
	/* Port mapping on request (io.portmap): the NAT_PORTMAP_* bit the
	 * router grants by (0: it grants none), the lifetime it grants (0:
	 * what is asked), and the outside address it says (0: its public
	 * one; another: a home router behind a carrier NAT). A mapping lets
	 * anyone in, whatever the filtering, until it lapses or is removed. */
	unsigned portmap;
	uint32_t portmap_lifetime_s;
	uint32_t portmap_says_ip;
};

struct sim_mapping_entry {
	bool used;
	uint32_t in_ip;
	uint16_t in_port, out_port;
	uint32_t dst_ip;           /* per-destination mappings */
	uint16_t dst_port;
	uint64_t last_ms;
	int n_allowed;
	/* Where it sent lately: a filtering NAT lets these answer. A real one
	 * keeps a flow per destination; SIM_ALLOWED of them stand in for that
	 * (enough for the answers to a birthday round's burst of probes). */
	struct {
		uint32_t ip;
		uint16_t port;
	} allowed[SIM_ALLOWED];
};

struct sim;

struct sim_agent {
	struct sim *sim;
	int index;
	char name[16];
	bool up;
	struct agent a;
	struct agent_conf conf;
	struct sim_nat nat;
	uint32_t local_ip, public_ip;
	uint32_t extra_local_ip;   /* another address this host has (0: none), e.g. a TUN device's */
	int64_t clock_offset_ns;   /* this host's wall clock against the simulation's */
	/* Sockets: port per number (0: closed); number 1 is the main socket. */
	uint16_t sock_port[SIM_MAX_SOCKETS];
	uint16_t next_port;
	int n_open, max_open;      /* sockets open now (the main one too), and the most at once */
	struct sim_mapping_entry *maps;    /* SIM_MAX_MAPPINGS */
	uint16_t next_seq_port;
	/* TCP to the introducer. */
	bool tcp_connecting, tcp_up;
	int tcp_conn;              /* the introducer's number for it */
	/* What arrived on its TUN device. */
	uint64_t delivered, delivered_bytes;
	uint32_t last_seq;         /* the sequence number in the last inner packet (sim_send's) */
	/* Its router's port mapping: the agent's ask (answered SIM_HOP_MS * 2
	 * later), and the mapping of its main port while it lasts. */
	bool pm_asked;
	uint32_t pm_ask_lifetime;
	uint64_t pm_answer_at;
	int pm_asks;               /* asks so far */
	uint16_t pm_port;          /* mapped: the outside port (0: none) */
	uint64_t pm_until;
	struct {                   /* flows that came in through it: their answers leave by it (conntrack) */
		uint32_t ip;
		uint16_t port;
	} pm_flows[16];
	int n_pm_flows;
};

enum sim_kind { SIM_UDP, SIM_TCP_CONNECT, SIM_TCP_CONNECTED, SIM_TCP_DATA, SIM_TCP_CLOSE };

struct sim_packet {
	uint64_t at;
	enum sim_kind kind;
	int agent;                 /* TCP: the agent end */
	bool to_introducer;        /* TCP: which way */
	uint32_t src_ip, dst_ip;
	uint16_t src_port, dst_port;
	int ttl, hops;             /* routers passed so far */
	size_t len;
	uint8_t *data;
};

struct sim {
	uint64_t now;              /* virtual milliseconds */
	struct introducer *intro;
	struct introducer_conf intro_conf;
	uint8_t intro_priv[WG_KEY_LEN];
	bool intro_up;
	int64_t intro_clock_offset_ns;
	struct sim_agent agents[SIM_MAX_AGENTS];
	int n_agents;
	struct sim_packet *packets;        /* SIM_MAX_PACKETS, unordered */
	int n_packets;
	uint64_t next_tick, next_intro_tick;
	/* Bytes counted on the way: between two sites directly, and to or from the introducer. */
	uint64_t direct_bytes, intro_bytes;
	uint64_t dropped_by_nat, dropped_ttl;
	uint32_t rng;
	uint64_t hop_ms;           /* each router's delay (sim_init: SIM_HOP_MS; set before agents start) */
	uint64_t portmap_ms;       /* a router's answer to a port mapping ask comes this late (0: two hops) */
};

/* A simulation with an introducer that allows every agent added later. */
void sim_init(struct sim *s, const char *intro_extra);
void sim_free(struct sim *s);
/* An agent named NAME behind nat; returns its index. Not started. */
int sim_add_agent(struct sim *s, const char *name, const struct sim_nat *nat);
/* Start (or restart: a new process, nothing remembered) agent i. */
void sim_start_agent(struct sim *s, int i);
/* Stop agent i (its process ends; its NAT keeps what it had). */
void sim_stop_agent(struct sim *s, int i);
/* Stop and start the introducer (it remembers nothing). */
void sim_restart_introducer(struct sim *s);
/* The introducer dies (nothing answers at its address any more). */
void sim_stop_introducer(struct sim *s);
/* The wall clock at virtual time now (ns): what a message's counter carries. */
uint64_t sim_wall_ns(const struct sim *s);
/* Run the simulation until now + ms. */
void sim_run(struct sim *s, uint64_t ms);
/* Run until cond(s, ctx) holds (checked every 10 ms) or ms pass; true if it held. */
bool sim_run_until(struct sim *s, uint64_t ms, bool (*cond)(struct sim *s, void *ctx), void *ctx);
/* An inner UDP packet of len bytes from agent i's mesh address to agent j's,
 * carrying seq; it goes in through i's TUN device. */
void sim_send(struct sim *s, int i, int j, size_t len, uint32_t seq);
/* Agent i's first peer j (by name): direct or not, and its record. */
struct agent_peer *sim_peer(struct sim *s, int i, int j);
bool sim_direct(struct sim *s, int i, int j);
/* NAT faults: forget every mapping of agent i's NAT. */
void sim_flush_nat(struct sim *s, int i);
/* The introducer's view: how many members. */
int sim_members(struct sim *s);

#endif
