/* The port mapping we hold: asked of our router through the io (the
 * daemon asks in the background with lib/portmap), offered to peers as a
 * candidate through the introducer, renewed before it lapses. */
#include "agent.h"
#include "../../lib/nat/model.h"
#include "../../lib/portmap/portmap.h"

#include <stdio.h>
#include <string.h>

#define RENEW_MIN_MS 5000    /* never renew more often than this, whatever lifetime a router grants */
#define ASK_AGAIN_MS 30000   /* a lost path through our mapping asks again at most this often */

const struct wg_endpoint *portmap_offered(const struct agent *a, char *why, size_t whylen)
{
	const struct agent_portmap *pm = &a->pmap;

	if (why && whylen)
		why[0] = '\0';
	if (!pm->got.by || pm->removed)
		return NULL;
	/* lapsed (not renewed in time: the router stopped answering) */
	if (a->now >= pm->got_ms + (uint64_t)pm->got.lifetime_s * 1000)
		return NULL;
	if (!a->seen[0].addr.ss_family)
		return NULL;
	/* A router that did not say its outside address (or says another
	 * than the one we are seen from) sits behind another NAT, or lies:
	 * the mapping opens nothing on the address peers reach us at. */
	if (!wg_endpoint_same_address(&pm->got.ext, &a->seen[0])) {
		if (why && whylen) {
			char ext[64];
			snprintf(ext, sizeof(ext), "%s", agent_ep_str(&pm->got.ext));
			snprintf(why, whylen, "not offered: the router's outside address %s is not where the introducer sees us (%s)",
				 pm->got.ext.addr.ss_family ? ext : "(not said)", agent_ep_str(&a->seen[0]));
		}
		return NULL;
	}
	return &pm->got.ext;
}

void portmap_tick(struct agent *a, uint64_t now)
{
	struct agent_portmap *pm = &a->pmap;

	if (!a->io.portmap || !a->conf.port_mapping || pm->asking || pm->removed)
		return;
	/* Once we know where the introducer sees us (to hold the mapping's
	 * address against it), and over UDP: a TCP-only site gains nothing. */
	if (!a->registered || !a->seen[0].addr.ss_family || now < pm->next_ms)
		return;
	if (a->io.portmap(a->io.ctx, AGENT_PORTMAP_LIFETIME_S) == 0) {
		pm->asking = true;
		pm->asked_ms = now ? now : 1;
	} else {
		pm->next_ms = now + AGENT_PORTMAP_RETRY_MS;
	}
}

void portmap_ask_again(struct agent *a)
{
	struct agent_portmap *pm = &a->pmap;
	uint64_t soonest = pm->asked_ms + ASK_AGAIN_MS;

	if (!pm->asking)
		pm->next_ms = a->now > soonest ? a->now : soonest;
}

void agent_portmap_answer(struct agent *a, const struct agent_portmap_answer *ans, uint64_t now)
{
	struct agent_portmap *pm = &a->pmap;
	struct agent_portmap_answer old = pm->got;
	const char *name = pmap_protocol_name(ans->by);
	char why[200];

	a->now = now;
	pm->asking = false;
	if (pm->removed)
		return;
	pm->got = *ans;
	if (ans->by) {
		uint64_t half = (uint64_t)ans->lifetime_s * 500;
		pm->got_ms = now;
		pm->next_ms = now + (half > RENEW_MIN_MS ? half : RENEW_MIN_MS);
		if (!old.by || !wg_endpoint_equal(&old.ext, &ans->ext) || old.by != ans->by) {
			portmap_offered(a, why, sizeof(why));
			agent_log(a, "port mapping: %s by %s for %u s%s%s", agent_ep_str(&ans->ext), name, ans->lifetime_s,
				  why[0] ? "; " : "", why);
		}
	} else {
		pm->next_ms = now + AGENT_PORTMAP_RETRY_MS;
		if (old.by || a->log_verbose)
			agent_log(a, "port mapping: none (%s)", ans->why);
	}
	if (old.by != pm->got.by || !wg_endpoint_equal(&old.ext, &pm->got.ext)) {
		agent_remeasure(a);
		a->reg_next_ms = now;   /* the introducer passes it on (or stops) */
	}
}
