/* What an agent measured of its own network through the introducer's two
 * addresses, and what that says about a direct path to a peer. The verdict
 * comes from the harness's one expected-path function (expect_path), fed
 * with models built from the measurements: no second table. */
#ifndef PL_MESH_NATCLASS_H
#define PL_MESH_NATCLASS_H

#include "../../lib/expect/expect.h"
#include "proto.h"

#include <stdbool.h>

struct mesh_nat_class {
	bool known;          /* seen from both introducer addresses (or over TCP only) */
	bool open;           /* seen with one of its own addresses: no NAT */
	bool varies;         /* the mapping depends on the destination */
	bool sequential;     /* ...with a small, steady step between new mappings */
	int delta;           /* that step (second address's port minus the first's) */
	bool tcp_only;       /* UDP does not get out */
	unsigned portmap;    /* a port its router mapped on request, by this NAT_PORTMAP_* bit (0: none) */
};

/* Classify from the endpoints the introducer saw (seen[1] may be unset
 * when only one address answered) and the agent's local addresses. */
void mesh_nat_classify(const struct wg_endpoint seen[2], const struct wg_endpoint *locals, int n_locals, bool tcp_only,
		       struct mesh_nat_class *out);
/* The NAT model these measurements describe; what was not measured
 * (filtering) is assumed the strictest. */
void mesh_nat_model(const struct mesh_nat_class *c, struct nat_model *m);
/* Can we go direct to peer? same_site: both were seen from one public
 * address (one LAN, or one carrier NAT): local addresses or hairpinning
 * may meet, so it is tried. why is prefixed with "measured: " and names
 * the sides "we" and peer_name. */
void mesh_nat_expect(const struct mesh_nat_class *me, const struct mesh_nat_class *peer, bool same_site,
		     const char *peer_name, struct expect_result *r);
/* "endpoint-independent", "per destination, sequential (+1)", ... */
const char *mesh_nat_describe(const struct mesh_nat_class *c, char *buf, size_t len);

#endif
