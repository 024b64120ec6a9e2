#include "natclass.h"

#include <stdio.h>
#include <string.h>

static int port_of(const struct wg_endpoint *e)
{
	return e->addr.ss_family == AF_INET ? ntohs(((const struct sockaddr_in *)&e->addr)->sin_port)
					    : ntohs(((const struct sockaddr_in6 *)&e->addr)->sin6_port);
}

void mesh_nat_classify(const struct wg_endpoint seen[2], const struct wg_endpoint *locals, int n_locals, bool tcp_only,
		       struct mesh_nat_class *out)
{
	memset(out, 0, sizeof(*out));
	out->tcp_only = tcp_only;
	if (tcp_only) {
		out->known = true;
		return;
	}
	if (!seen[0].addr.ss_family)
		return;
	for (int i = 0; i < n_locals; i++)
		if (wg_endpoint_same_address(&seen[0], &locals[i]))
			out->open = true;
	if (!seen[1].addr.ss_family)
		return;
	out->known = true;
	if (port_of(&seen[0]) != port_of(&seen[1]) || !wg_endpoint_same_address(&seen[0], &seen[1])) {
		/* RFC 4787 §4.1: a new mapping per destination. Two ports a small
		 * step apart, in the order we sent, suggest a counter. */
		out->varies = true;
		out->delta = port_of(&seen[1]) - port_of(&seen[0]);
		out->sequential = wg_endpoint_same_address(&seen[0], &seen[1]) && out->delta >= 1 && out->delta <= 16;
	}
}

void mesh_nat_model(const struct mesh_nat_class *c, struct nat_model *m)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "measured");
	m->translate = !c->open;
	m->udp_blocked = c->tcp_only;
	m->mapping = c->varies ? NAT_ADDRESS_AND_PORT_DEPENDENT : NAT_ENDPOINT_INDEPENDENT;
	m->filtering = c->open ? NAT_ENDPOINT_INDEPENDENT : NAT_ADDRESS_AND_PORT_DEPENDENT;
	m->ports = c->sequential ? NAT_PORTS_SEQUENTIAL : c->varies ? NAT_PORTS_RANDOM : NAT_PORTS_PRESERVE;
	m->unsolicited = NAT_UNSOLICITED_DROP_BEFORE_CONFIRM;
	m->portmap = c->portmap;
}

void mesh_nat_expect(const struct mesh_nat_class *me, const struct mesh_nat_class *peer, bool same_site,
		     const char *peer_name, struct expect_result *r)
{
	struct nat_model a, b;
	char why[sizeof(r->why)];

	mesh_nat_model(me, &a);
	mesh_nat_model(peer, &b);
	if (same_site && !me->tcp_only && !peer->tcp_only) {
		/* One public address for both: one LAN or one carrier; the
		 * introducer cannot tell which, so local candidates are tried. */
		memset(r, 0, sizeof(*r));
		r->direct = true;
		r->technique = EXPECT_SAME_LAN;
		snprintf(r->why, sizeof(r->why), "measured: both peers are seen from one public address: they meet on "
						 "their local addresses or through the NAT's hairpin");
		return;
	}
	expect_path(&a, &b, SHAPE_TWO_SITES, NULL, r);
	/* expect_path names the sides a and b: here a is us, b the peer. */
	snprintf(why, sizeof(why), "measured: ");
	for (const char *s = r->why; *s;) {
		size_t n = strcspn(s, " ,:()"), used = strlen(why);
		/* expect_path's texts never use "a" as an article (keep it so). */
		const char *word = n == 1 && *s == 'a' ? "we" : n == 3 && !strncmp(s, "a's", 3) ? "our" : NULL;
		char pname[MESH_NAME_LEN + 8];
		if (!word && ((n == 1 && *s == 'b') || (n == 3 && !strncmp(s, "b's", 3)))) {
			snprintf(pname, sizeof(pname), "%s%s", peer_name, n == 3 ? "'s" : "");
			word = pname;
		}
		if (word)
			snprintf(why + used, sizeof(why) - used, "%s", word);
		else
			snprintf(why + used, sizeof(why) - used, "%.*s", (int)n, s);
		s += n;
		used = strlen(why);
		if (*s) {
			snprintf(why + used, sizeof(why) - used, "%c", *s);
			s++;
		}
	}
	snprintf(r->why, sizeof(r->why), "%s", why);
}

const char *mesh_nat_describe(const struct mesh_nat_class *c, char *buf, size_t len)
{
	if (!c->known)
		snprintf(buf, len, "not measured yet");
	else if (c->tcp_only)
		snprintf(buf, len, "UDP blocked (TCP only)");
	else if (c->open)
		snprintf(buf, len, "no NAT");
	else if (!c->varies)
		snprintf(buf, len, "endpoint-independent mapping");
	else if (c->sequential)
		snprintf(buf, len, "mapping per destination, sequential ports (%+d)", c->delta);
	else
		snprintf(buf, len, "mapping per destination, unpredictable ports");
	return buf;
}
