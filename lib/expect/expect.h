/* Expected paths: from two NAT models' declared behaviours and the shape of
 * the network, can the peers go direct, by which technique, or why not.
 * One function, its reasoning written beside it; `punchlab expect`, the
 * tests, the runner and the agent's "why relayed" all use it. */
#ifndef PL_EXPECT_H
#define PL_EXPECT_H

#include "../nat/model.h"

#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>

enum expect_technique {
	EXPECT_NONE,         /* no direct path: relay */
	EXPECT_SAME_LAN,     /* local addresses, no NAT in between */
	EXPECT_OPEN,         /* one side has no NAT and no filter: the other reaches it */
	EXPECT_PUNCH,        /* simultaneous hole punching to reflexive endpoints */
	EXPECT_PREDICTION,   /* punching to predicted ports of a sequential allocator */
	EXPECT_BIRTHDAY,     /* birthday-paradox probing against a random allocator */
	EXPECT_HAIRPIN,      /* both behind one NAT that hairpins: meet at its mappings */
	EXPECT_PUNCH_OPENERS, /* punching whose first packets die between the NATs (low TTL) */
	EXPECT_PORTMAP,      /* one side's router maps a port on request (UPnP, NAT-PMP, PCP) */
};

/* Where the two peers meet (a double NAT is a two-sites pair whose NATs
 * are composed first: expect_compose). */
enum expect_shape {
	SHAPE_TWO_SITES,     /* each behind its own NAT(s), meeting on the internet */
	SHAPE_SAME_LAN,      /* one LAN */
	SHAPE_SAME_CARRIER,  /* behind one translating router (a carrier NAT) */
};

struct expect_result {
	bool direct;
	enum expect_technique technique;
	char why[512];
};

/* A model as TCP sees it: the lab's models shape UDP, and every
 * translating one masquerades everything else (Linux's NAT: the port kept
 * when free, only replies let in, no hairpin); a site that blocks UDP lets
 * TCP out. What is left of the model is whether an unsolicited packet
 * leaves conntrack state. For tools whose traffic is TCP. */
struct nat_model expect_tcp_view(const struct nat_model *m);
/* The behaviour of inner behind outer, as seen from outside both. */
struct nat_model expect_compose(const struct nat_model *inner, const struct nat_model *outer);
/* The verdict for a (behind NAT a) and b (behind NAT b) in shape; carrier
 * is the shared NAT for SHAPE_SAME_CARRIER (NULL otherwise). */
void expect_path(const struct nat_model *a, const struct nat_model *b, enum expect_shape shape,
		 const struct nat_model *carrier, struct expect_result *out);
const char *expect_technique_name(enum expect_technique t);
/* A technique beyond sending to the endpoints the introducer saw
 * (prediction, birthday, openers, port mapping): a tool that lacks it stays relayed
 * there, for a reason expect knows. */
bool expect_technique_special(enum expect_technique t);
/* The technique named name; -1 when none is. */
int expect_technique_parse(const char *name);

#endif
