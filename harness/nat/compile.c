/* Model -> plan. Each behaviour is made by the smallest set of nftables
 * pieces that gives it; docs/nat-models.md says how each behaviour is built. */
#include "plan.h"
#include "../../lib/util/text.h"

#include <errno.h>
#include <linux/netfilter.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *name, *type;
	int hook, prio;
} chains[NC_COUNT] = {
	[NC_PREROUTING] = { "prerouting", "nat", NF_INET_PRE_ROUTING, -100 },
	[NC_POSTROUTING] = { "postrouting", "nat", NF_INET_POST_ROUTING, 100 },
	/* After source NAT, so it sees the external port. */
	[NC_TRACK] = { "track", "filter", NF_INET_POST_ROUTING, 110 },
	[NC_INPUT] = { "input", "filter", NF_INET_LOCAL_IN, 0 },
	[NC_FORWARD] = { "forward", "filter", NF_INET_FORWARD, 0 },
};

const char *nat_chain_name(enum nat_chain c) { return chains[c].name; }
const char *nat_chain_type(enum nat_chain c) { return chains[c].type; }
int nat_chain_hook(enum nat_chain c) { return chains[c].hook; }
int nat_chain_priority(enum nat_chain c) { return chains[c].prio; }

unsigned nat_field_len(enum nat_field f)
{
	return (f == NF_IP_SADDR || f == NF_IP_DADDR || f == NF_CT_ORIG_SADDR) ? 4 : 2;
}

unsigned nat_field_type(enum nat_field f)
{
	return nat_field_len(f) == 4 ? 7 : 13;
}

static struct nat_key key1(enum nat_field a)
{
	return (struct nat_key){ 1, { a } };
}

static struct nat_key key2(enum nat_field a, enum nat_field b)
{
	return (struct nat_key){ 2, { a, b } };
}

static struct nat_key key3(enum nat_field a, enum nat_field b, enum nat_field c)
{
	return (struct nat_key){ 3, { a, b, c } };
}

static struct nat_rule *rule_new(struct nat_plan *p, enum nat_chain c, const char *why)
{
	struct nat_rule *r = &p->rules[p->n_rules++];

	memset(r, 0, sizeof(*r));
	r->chain = c;
	snprintf(r->why, sizeof(r->why), "%s", why);
	return r;
}

static struct nat_stmt *stmt(struct nat_rule *r, enum nat_stmt_kind k)
{
	struct nat_stmt *s = &r->s[r->n++];

	memset(s, 0, sizeof(*s));
	s->kind = k;
	s->set = -1;
	return s;
}

static void match_if(struct nat_rule *r, enum nat_stmt_kind k)
{
	stmt(r, k)->ifname = NAT_WAN;
}

static void match_saddr(struct nat_rule *r, uint32_t addr, uint8_t plen)
{
	struct nat_stmt *s = stmt(r, NS_SADDR);

	s->addr = addr;
	s->plen = plen;
}

/* Outbound UDP from the translated inside: oifname wan [ip saddr INSIDE] udp. */
static struct nat_rule *outbound_udp(struct nat_plan *p, const struct nat_model *m,
				     enum nat_chain c, const char *why)
{
	struct nat_rule *r = rule_new(p, c, why);

	match_if(r, NS_OIF);
	if (m->has_inside) {
		/* After source NAT (the track chain) the packet's own source is
		 * the public address: ask conntrack for the original. */
		match_saddr(r, m->inside_addr, m->inside_len);
		if (c == NC_TRACK)
			r->s[r->n - 1].kind = NS_CT_ORIG_SADDR;
	}
	stmt(r, NS_UDP);
	return r;
}

static int set_new(struct nat_plan *p, const char *name, struct nat_key key, struct nat_key data,
		   unsigned timeout)
{
	struct nat_set *s = &p->sets[p->n_sets];

	snprintf(s->name, sizeof(s->name), "%s", name);
	s->key = key;
	s->data = data;
	s->timeout_s = timeout;
	return p->n_sets++;
}

static void sysctl_add(struct nat_plan *p, const char *path, unsigned value)
{
	struct nat_sysctl *s = &p->sysctls[p->n_sysctls++];

	snprintf(s->path, sizeof(s->path), "%s", path);
	snprintf(s->value, sizeof(s->value), "%u", value);
}

/* udp = block: outbound UDP dropped in the forward hook. */
static void block_udp(struct nat_plan *p, const char *why)
{
	struct nat_rule *r = rule_new(p, NC_FORWARD, why);

	match_if(r, NS_OIF);
	stmt(r, NS_UDP);
	stmt(r, NS_COUNTER);
	stmt(r, NS_DROP);
}

int nat_plan_compile(const struct nat_model *m, const struct nat_context *ctx,
		     struct nat_plan *p, char *err, size_t errlen)
{
	const uint32_t pub = ctx->public_addr;
	bool need_inbound, need_contacted, need_mappings;
	int inbound = -1, contacted = -1, mappings = -1;
	struct nat_key map_key_pkt = { 0 }, map_key_ct = { 0 };
	struct nat_rule *r;
	struct nat_stmt *s;

	memset(p, 0, sizeof(*p));
	snprintf(p->model, sizeof(p->model), "%s", m->name);

	if (m->udp_blocked)
		block_udp(p, "udp = block: outbound UDP is dropped");
	if (!m->translate)
		return 0;

	/* The mapping lives as long as its conntrack entry (masquerade) or map
	 * element: both get the model's timeout. */
	sysctl_add(p, "net.netfilter.nf_conntrack_udp_timeout", m->udp_timeout);
	sysctl_add(p, "net.netfilter.nf_conntrack_udp_timeout_stream", m->udp_timeout);

	need_inbound = m->filtering != NAT_ADDRESS_AND_PORT_DEPENDENT || m->hairpin;
	need_contacted = m->filtering == NAT_ADDRESS_DEPENDENT;
	/* Linux keeps the source port when it can, which is endpoint-independent
	 * mapping with preserved ports. Anything else needs the mapping kept in a
	 * map: RFC 4787 REQ-1 (EIM) or per destination address (ADM). */
	need_mappings = m->ports != NAT_PORTS_PRESERVE && m->mapping != NAT_ADDRESS_AND_PORT_DEPENDENT;

	if (need_mappings) {
		if (m->mapping == NAT_ENDPOINT_INDEPENDENT) {
			map_key_pkt = key2(NF_IP_SADDR, NF_UDP_SPORT);
			map_key_ct = key2(NF_CT_ORIG_SADDR, NF_CT_ORIG_SPORT);
		} else {
			map_key_pkt = key3(NF_IP_SADDR, NF_UDP_SPORT, NF_IP_DADDR);
			map_key_ct = key3(NF_CT_ORIG_SADDR, NF_CT_ORIG_SPORT, NF_IP_DADDR);
		}
		mappings = set_new(p, "mappings", map_key_pkt, key1(NF_UDP_SPORT), m->udp_timeout);
	}
	if (need_inbound)
		inbound = set_new(p, "inbound", key1(NF_UDP_SPORT),
				  key2(NF_IP_SADDR, NF_UDP_SPORT), m->udp_timeout);
	if (need_contacted)
		contacted = set_new(p, "contacted", key2(NF_UDP_SPORT, NF_IP_DADDR), (struct nat_key){ 0 },
				    m->udp_timeout);

	/* --- postrouting: outbound mappings --- */
	if (need_mappings) {
		r = outbound_udp(p, m, NC_POSTROUTING,
				 m->mapping == NAT_ENDPOINT_INDEPENDENT
					 ? "mapping = endpoint-independent: reuse the socket's mapping"
					 : "mapping = address-dependent: reuse the mapping for this destination address");
		s = stmt(r, NS_SNAT_MAP);
		s->addr = pub;
		s->set = mappings;
		s->key = map_key_pkt;
	}
	if (m->ports == NAT_PORTS_PRESERVE) {
		r = outbound_udp(p, m, NC_POSTROUTING, "ports = preserve: Linux keeps the source port when free");
		stmt(r, NS_MASQUERADE);
	} else if (m->port_block) {
		unsigned blocks = (unsigned)(m->port_max - m->port_min + 1) / m->port_block;
		if ((unsigned)ctx->n_subscribers > blocks) {
			snprintf(err, errlen,
				 "model %s: %d subscribers but port-range %u-%u holds only %u blocks of %u",
				 m->name, ctx->n_subscribers, m->port_min, m->port_max, blocks, m->port_block);
			return -EINVAL;
		}
		for (int i = 0; i < ctx->n_subscribers; i++) {
			char why[96];
			uint32_t lo = m->port_min + (uint32_t)i * m->port_block;

			snprintf(why, sizeof(why), "port-block: subscriber %d gets ports %u-%u", i + 1, lo,
				 lo + m->port_block - 1);
			r = rule_new(p, NC_POSTROUTING, why);
			match_if(r, NS_OIF);
			match_saddr(r, ctx->subscribers[i], 32);
			stmt(r, NS_UDP);
			s = stmt(r, NS_SNAT);
			s->addr = pub;
			s->port_min = (uint16_t)lo;
			s->port_max = (uint16_t)(lo + m->port_block - 1);
			s->flags = m->ports == NAT_PORTS_RANDOM ? NAT_FLAG_FULLY_RANDOM : 0;
		}
	} else if (m->ports == NAT_PORTS_SEQUENTIAL) {
		r = outbound_udp(p, m, NC_POSTROUTING, "ports = sequential: each new mapping takes the next port");
		s = stmt(r, NS_SNAT_NUMGEN);
		s->addr = pub;
		s->port_min = m->port_min;
		s->modulus = (uint32_t)(m->port_max - m->port_min) + 1;
	} else {
		r = outbound_udp(p, m, NC_POSTROUTING, "ports = random: a random port from port-range");
		s = stmt(r, NS_SNAT);
		s->addr = pub;
		s->port_min = m->port_min;
		s->port_max = m->port_max;
		s->flags = NAT_FLAG_FULLY_RANDOM;
	}
	r = rule_new(p, NC_POSTROUTING, "everything else (TCP, ICMP) is masqueraded");
	match_if(r, NS_OIF);
	if (m->has_inside)
		match_saddr(r, m->inside_addr, m->inside_len);
	stmt(r, NS_MASQUERADE);

	if (m->hairpin) {
		/* RFC 4787 REQ-9: a hairpinned packet carries the sender's external
		 * address and port. */
		r = rule_new(p, NC_POSTROUTING, "hairpin = yes: the sender appears as its mapping");
		match_if(r, NS_IIF_NOT);
		match_if(r, NS_OIF_NOT);
		stmt(r, NS_CT_ORIG_DADDR)->addr = pub;
		stmt(r, NS_UDP);
		if (need_mappings) {
			s = stmt(r, NS_SNAT_MAP);
			s->addr = pub;
			s->set = mappings;
			s->key = map_key_pkt;
			r = rule_new(p, NC_POSTROUTING, "hairpin = yes: a sender without a mapping yet");
			match_if(r, NS_IIF_NOT);
			match_if(r, NS_OIF_NOT);
			stmt(r, NS_CT_ORIG_DADDR)->addr = pub;
			stmt(r, NS_UDP);
		}
		stmt(r, NS_SNAT)->addr = pub;
	}

	/* --- track: remember mappings after translation --- */
	if (need_mappings) {
		r = outbound_udp(p, m, NC_TRACK, "remember the mapping (outbound traffic refreshes it)");
		s = stmt(r, NS_DYNSET_UPDATE);
		s->set = mappings;
		s->key = map_key_ct;
		s->data = key1(NF_UDP_SPORT);
	}
	if (need_inbound) {
		r = outbound_udp(p, m, NC_TRACK, "external port -> internal endpoint, for inbound packets");
		s = stmt(r, NS_DYNSET_UPDATE);
		s->set = inbound;
		s->key = key1(NF_UDP_SPORT);
		s->data = key2(NF_CT_ORIG_SADDR, NF_CT_ORIG_SPORT);
	}
	if (need_contacted) {
		r = outbound_udp(p, m, NC_TRACK, "addresses each mapping has sent to");
		s = stmt(r, NS_DYNSET_UPDATE);
		s->set = contacted;
		s->key = key2(NF_UDP_SPORT, NF_IP_DADDR);
	}

	/* --- prerouting: inbound filtering and hairpinning --- */
	if (m->filtering != NAT_ADDRESS_AND_PORT_DEPENDENT) {
		r = rule_new(p, NC_PREROUTING,
			     m->filtering == NAT_ENDPOINT_INDEPENDENT
				     ? "filtering = endpoint-independent: anyone may reach a mapping"
				     : "filtering = address-dependent: addresses the mapping has sent to may reach it");
		match_if(r, NS_IIF);
		stmt(r, NS_UDP);
		if (need_contacted) {
			s = stmt(r, NS_LOOKUP);
			s->set = contacted;
			s->key = key2(NF_UDP_DPORT, NF_IP_SADDR);
		}
		s = stmt(r, NS_DNAT_MAP);
		s->set = inbound;
		s->key = key1(NF_UDP_DPORT);
	}
	if (m->hairpin) {
		r = rule_new(p, NC_PREROUTING, "hairpin = yes: inside hosts reach each other's mappings");
		match_if(r, NS_IIF_NOT);
		s = stmt(r, NS_DADDR);
		s->addr = pub;
		s->plen = 32;
		stmt(r, NS_UDP);
		s = stmt(r, NS_DNAT_MAP);
		s->set = inbound;
		s->key = key1(NF_UDP_DPORT);
	}

	/* --- input: unsolicited packets --- */
	if (m->unsolicited == NAT_UNSOLICITED_DROP_BEFORE_CONFIRM) {
		/* Dropped before conntrack confirms it, an unsolicited packet leaves
		 * no entry to clash with the inside host's next mapping. */
		r = rule_new(p, NC_INPUT, "unsolicited = drop-before-confirm: no conntrack entry is left");
		match_if(r, NS_IIF);
		stmt(r, NS_CT_NEW);
		stmt(r, NS_COUNTER);
		stmt(r, NS_DROP);
	}
	return 0;
}

static void match_prefix6(struct nat_rule *r, enum nat_stmt_kind k, const uint8_t prefix[16])
{
	struct nat_stmt *s = stmt(r, k);

	memcpy(s->addr6, prefix, 16);
	s->plen = 64;
}

int nat_plan_compile6(const struct nat_model *m, const struct nat_context *ctx, struct nat_plan *p, char *err,
		      size_t errlen)
{
	struct nat_rule *r;
	struct nat_stmt *s;

	(void)err;
	(void)errlen;
	memset(p, 0, sizeof(*p));
	snprintf(p->model, sizeof(p->model), "%s", m->name);
	p->ipv6 = true;
	if (m->ipv6 == NAT_IPV6_NONE)
		return 0;
	if (m->udp_blocked)
		block_udp(p, "udp = block: outbound UDP is dropped (IPv6 too)");
	r = rule_new(p, NC_FORWARD, "ipv6: what answers the inside's own traffic comes in (RFC 6092)");
	match_if(r, NS_IIF);
	stmt(r, NS_CT_REPLY);
	stmt(r, NS_ACCEPT);
	r = rule_new(p, NC_FORWARD, "ipv6: nothing unsolicited comes in (dropped before conntrack confirms it)");
	match_if(r, NS_IIF);
	stmt(r, NS_COUNTER);
	stmt(r, NS_DROP);
	if (m->ipv6 == NAT_IPV6_NPTV6)
		for (int i = 0; i < ctx->n_prefixes6; i++) {
			r = rule_new(p, NC_POSTROUTING, "ipv6 = nptv6: the inside prefix becomes the outside one (RFC 6296, by conntrack)");
			match_if(r, NS_OIF);
			match_prefix6(r, NS_SADDR6, ctx->inside6[i]);
			s = stmt(r, NS_SNAT_PREFIX6);
			memcpy(s->addr6, ctx->outside6[i], 16);
			s->plen = 64;
			r = rule_new(p, NC_PREROUTING, "ipv6 = nptv6: and back, for what comes in to the outside prefix");
			match_if(r, NS_IIF);
			match_prefix6(r, NS_DADDR6, ctx->outside6[i]);
			s = stmt(r, NS_DNAT_PREFIX6);
			memcpy(s->addr6, ctx->inside6[i], 16);
			s->plen = 64;
		}
	if (m->ipv6 == NAT_IPV6_NAT66) {
		r = rule_new(p, NC_POSTROUTING, "ipv6 = nat66: the site is masqueraded behind the router's address");
		match_if(r, NS_OIF);
		stmt(r, NS_MASQUERADE);
	}
	return 0;
}
