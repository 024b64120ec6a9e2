/* What conform sees of a NAT beyond the STUN probe: UDP, TCP and ICMP
 * behaviour driven from sockets in the lab's namespaces (two clients behind
 * the NAT, a server with several addresses outside), each fact recorded
 * with what was seen so the verdicts can quote it. */
#ifndef PL_CONFORM_OBSERVE_H
#define PL_CONFORM_OBSERVE_H

#include "../stun/probe.h"
#include "../../lib/portmap/portmap.h"

#include <stdbool.h>
#include <stdint.h>

#define OBS_UNKNOWN (-1)
#define OBS_MAX_POOL 16

/* The timeout tests (--long): 0 leaves each out. */
struct conform_timing {
	unsigned refresh_s;         /* RFC 4787 REQ-6: mappings refreshed at half, checked at this */
	unsigned icmp_s;            /* RFC 5508 REQ-2: an echo's mapping checked at this */
	unsigned holddown_s;        /* RFC 6888 REQ-8: a carrier's freed ports tried at this */
	unsigned tcp_est_s;         /* RFC 5382 REQ-5: an idle connection tried at this */
	unsigned tcp_tr_s;          /* and a half-closed one at this */
};

/* Where the lab is: namespace names and addresses (network order). */
struct conform_lab {
	char client_ns[64], client2_ns[64], server_ns[64], router_ns[64];
	uint32_t client, client2;
	uint32_t server[2];         /* the server's two addresses */
	char server_if[16];         /* its interface (more addresses go there) */
	char router_wan[16];        /* the router's outside interface */
	uint32_t gateway;           /* the router's inside address (port mapping is asked there) */
	char client_if[16];         /* the client's interface (UPnP's discovery goes out there) */
	struct conform_timing timing;
};

/* An outside view of one inside endpoint: the address and port seen. */
struct obs_ep {
	uint32_t addr;              /* network order, 0 unknown */
	uint16_t port;              /* host order */
};

enum obs_answer { OBS_NOTHING, OBS_RST, OBS_ICMP, OBS_ACCEPTED };

/* One port-mapping protocol asked for a mapping of a port that never sent. */
#define OBS_PMAP PMAP_PROTOCOLS     /* pmap_protocols' order: UPnP IGD, NAT-PMP, PCP */
struct obs_pmap {
	bool asked, granted;
	uint32_t ext_addr;          /* the outside address it said (0: it did not) */
	uint16_t ext_port;
	uint32_t lifetime;          /* granted, of 120 s asked */
	int inbound;                /* 1 a datagram from an outside stranger reached the port */
	int removed;                /* 1 lifetime 0 was acknowledged */
	int after;                  /* 1 a new outside flow still got in after the removal */
	char why[96];               /* not granted: what came back */
};

struct conform_obs {
	uint32_t client;            /* the first inside host's address: seen outside, no translation */
	bool carrier;               /* the inside is RFC 6598 shared space */
	/* UDP (RFC 4787) */
	int pool_flows;             /* flows from one client to many destinations */
	int pool_dests;             /* how many destination addresses */
	int pool_addrs;             /* distinct external addresses they got */
	uint32_t pool[OBS_MAX_POOL];
	int pool2_addrs;            /* the same for the second client */
	struct obs_ep over1, over2; /* two clients, same local port, other destinations */
	int parity_tried, parity_kept;
	int payload;                /* 1 arrived unchanged, 0 rewritten, OBS_UNKNOWN lost */
	int det_runs, det_class[3]; /* mapping class (enum nat_dependence) per run */
	int icmp_keep;              /* 1 mapping outlived an ICMP error, 0 not, unknown */
	int df;                     /* 1 "fragmentation needed" came back, 0 not */
	int df_mtu;
	int frag[4];                /* out in order, out reversed, in in order, in reversed */
	/* TCP (RFC 5382) */
	int tcp;                    /* 1 a connection got through */
	int tcp_mapping;            /* enum nat_dependence or unknown */
	struct obs_ep tcp_m1, tcp_m2;
	struct obs_ep tcp_over1, tcp_over2;
	int tcp_filtering;          /* enum nat_dependence or unknown */
	enum obs_answer syn_answer; /* to an unsolicited SYN */
	int syn_ms;                 /* when */
	int simopen;                /* 1 simultaneous open completed */
	int tcp_hairpin;            /* 1 accepted */
	struct obs_ep tcp_hairpin_from;
	/* ICMP (RFC 5508) */
	int echo;                   /* 1 reply came back */
	uint16_t echo_id_in, echo_id_out;
	uint32_t echo_from;
	int icmp_error;             /* 1 an outside ICMP error reached the socket */
	/* Time (--long) */
	unsigned refresh_s;         /* 0: not tried */
	int refresh_out, refresh_in, refresh_none; /* alive at refresh_s: refreshed from inside, outside, not */
	unsigned icmp_s;            /* 0: not tried */
	int icmp_alive;             /* the echo's mapping answered at icmp_s */
	unsigned tcp_est_s, tcp_tr_s;   /* 0: not tried */
	int tcp_est_alive, tcp_tr_alive; /* the server's byte got in then */
	/* Carrier (RFC 6888) */
	int limit_tried, limit_mapped;
	int limit_icmp_type, limit_icmp_code; /* -1: nothing came back */
	unsigned hold_s;            /* 0: not tried */
	int hold_new;               /* 1 a new flow got a port at hold_s, 0 none */
	uint16_t hold_port;
	bool hold_reused;           /* that port was one of the limit test's */
	int hold_fresh;             /* new flows that got ports the limit test never saw in use */
	int hold_old_alive;         /* a limit test mapping still answered */
	/* Port mapping (RFC 6886, RFC 6887, UPnP IGD) */
	struct obs_pmap pm[OBS_PMAP];
	uint32_t pm_seen;           /* the client's outside address, as the server saw it (0 unknown) */
	/* IPv6 (RFC 6092, RFC 6296): the STUN probe over IPv6, where the lab has it */
	int v6_kind;                /* enum nat_ipv6 the model declares; 0: no IPv6 in the lab */
	struct nat_measured v6;
	char note[160];             /* a local failure that left facts unknown */
};

/* Drive every test against the NAT between lab's clients and server; o is
 * filled (unknowns marked). Returns 0, or a negative errno when the lab
 * itself failed (a socket could not be made). */
int conform_observe(const struct conform_lab *lab, struct conform_obs *o);

#endif
