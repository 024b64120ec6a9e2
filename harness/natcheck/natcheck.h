/* nat-check: build each model in the nat-probe topology, discover its
 * behaviour with the lab's own STUN server and probe, and hold what was
 * measured against what the model declares. */
#ifndef PL_NATCHECK_H
#define PL_NATCHECK_H

#include "../../lib/nat/model.h"
#include "../stun/probe.h"
#include "pmprobe.h"
#include "../topo/topo.h"

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

struct natcheck_result {
	char model[160];             /* what was checked: a model, a ruleset, a command */
	struct nat_model declared;
	struct nat_measured measured;
	bool timeouts;               /* lifetime was measured */
	struct pmap_measured portmap; /* what the router granted when asked (UPnP, NAT-PMP, PCP) */
	struct nat_measured measured6; /* over IPv6, where the model has it (declared.ipv6) */
	bool match;
	int error;                   /* the lab could not be built or run */
	char detail[320];            /* mismatches, or the error */
};

/* Hold m against the declaration d; mismatches are listed in detail. */
bool natcheck_compare(const struct nat_model *d, const struct nat_measured *m, bool timeouts, char *detail,
		      size_t len);
/* Hold what was measured over IPv6 against model d's ipv6 kind (and its
 * udp = block, which blocks IPv6 too)
 * (firewall: no translation; nptv6: the address translated, host part and
 * port kept; nat66: the router's address; each endpoint-independent and
 * filtering by address and port); a mismatch is added to detail. */
bool natcheck_compare_ipv6(const struct nat_model *d, const struct nat_measured *m, char *detail, size_t len);
/* Hold the port-mapping protocols a router granted a mapping by against
 * those the model declares; a mismatch is added to detail. */
bool natcheck_compare_portmap(unsigned declared, const struct pmap_measured *m, char *detail, size_t len);
/* How a check is run beyond the model: a person's own router set-up, the
 * lifetime checkpoints, and more tests while the lab is up. */
struct natcheck_opts {
	const char *ruleset;        /* `nft -f` it in the router: built bare (model */
	const char *router_cmd;     /* "open") unless a model is given; or `sh -c` it */
	const char *iface_wan;      /* rename the router's "wan" to this first */
	const char *iface_lan;      /* and its "site" */
	const unsigned *points;     /* lifetime checkpoints (s), n_points of them; */
	int n_points;               /* -1: around the model's declared timeout */
	/* Called with the lab up after the probe (run id, resolved network,
	 * the router's outside interface name); its return lands in res->error. */
	int (*extra)(const char *run_id, const struct topo_net *net, const char *wan, void *ctx);
	void *ctx;
};

/* The nat-probe router's inside address (network order; 0: none). */
uint32_t natcheck_gateway(const struct topo_net *net);
/* Check MODEL (NULL with a ruleset or router command: the bare router) as
 * opts say. */
void natcheck_run(const char *model, const struct natcheck_opts *opts, struct natcheck_result *res);
/* Check one model in its own run (built and removed here). */
void natcheck_model(const char *model, bool timeouts, struct natcheck_result *res);
/* Check n models, up to jobs at a time (each in a child process and run). */
void natcheck_all(char *const models[], int n, int jobs, bool timeouts, struct natcheck_result *res);
/* Table for people, and JSON. */
void natcheck_print(const struct natcheck_result *res, int n, bool timeouts, FILE *out);
void natcheck_print_json(const struct natcheck_result *res, int n, FILE *out);


#endif
