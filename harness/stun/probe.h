/* RFC 5780 NAT behaviour discovery from behind a NAT, against a server with
 * two addresses and two ports: mapping, filtering, port allocation,
 * hairpinning, what an unsolicited packet leaves behind, and (optionally)
 * the mapping lifetime. */
#ifndef PL_STUN_PROBE_H
#define PL_STUN_PROBE_H

#include "stun.h"
#include "../../lib/nat/model.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define PROBE_UNKNOWN (-1)
#define PROBE_MAX_POINTS 16

struct stun_probe_cfg {
	uint32_t server;            /* network order */
	bool v6;                    /* over IPv6, to server6 instead */
	uint8_t server6[16];
	uint16_t port;              /* host order */
	int timeout_ms;             /* per try */
	int tries;
	int n_points;               /* lifetime checkpoints in seconds; 0: skip */
	unsigned points[PROBE_MAX_POINTS];
};

struct nat_measured {
	bool udp;                   /* any answer at all */
	bool rfc5780;               /* the server gave OTHER-ADDRESS */
	bool translated;            /* mapped address differs from the local one */
	struct stun_addr local, mapped;   /* our socket, and where the server saw it (either family) */
	int mapping;                /* enum nat_dependence or PROBE_UNKNOWN */
	int filtering;
	int ports;                  /* enum nat_ports or PROBE_UNKNOWN */
	int port_step;              /* sequential: the step seen */
	int hairpin;                /* 1 yes, 0 no, PROBE_UNKNOWN */
	bool hairpin_external;      /* hairpinned packet came from the external address (RFC 4787 REQ-9) */
	int unsolicited;            /* enum nat_unsolicited or PROBE_UNKNOWN (n/a) */
	int lifetime_alive;         /* last checkpoint the mapping was alive, -1 none */
	int lifetime_dead;          /* first checkpoint it was gone, -1 none */
	char note[160];
};

/* Run the discovery from this namespace. Returns 0 with results (even when
 * UDP is blocked: m->udp false), or a negative errno on local failure. */
int stun_probe_run(const struct stun_probe_cfg *cfg, struct nat_measured *m);
/* One binding request from local UDP port from_port (host order) to the
 * server, tries times, timeout_ms each: the reflexive address the server
 * saw (network order) into *addr and *port (host order). The port is free
 * again when this returns, for a tool to bind. The same transaction as
 * the probe's own. 0, -ETIMEDOUT when no answer came, -EPROTO for an
 * answer without an address, or a negative errno (the port is taken:
 * -EADDRINUSE). */
int stun_mapped_from(const struct stun_probe_cfg *cfg, uint16_t from_port, uint32_t *addr, uint16_t *port);
/* Print results for people, or as one JSON object. */
void stun_probe_print(const struct nat_measured *m, FILE *out);
void stun_probe_print_json(const struct nat_measured *m, FILE *out);

#endif
