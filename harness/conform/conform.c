#include "conform.h"
#include "../../lib/csum/csum.h"
#include "../../lib/util/text.h"

#include <arpa/inet.h>

#include <stdarg.h>
#include <string.h>

static const char *const level_names[] = { "MUST", "SHOULD", "MAY" };
static const char *const verdict_names[] = { "pass", "FAIL", "n/a", "skipped" };

static struct conform_row *row(struct conform_row *rows, int *n, const char *id, const char *what,
			       enum conform_level level)
{
	struct conform_row *r = &rows[(*n)++];

	memset(r, 0, sizeof(*r));
	r->id = id;
	r->what = what;
	r->level = level;
	r->verdict = CONFORM_NA;
	return r;
}

static const char *dep(int v)
{
	return v < 0 ? "unknown" : nat_dependence_name((enum nat_dependence)v);
}

static void ev(struct conform_row *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void ev(struct conform_row *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->evidence, sizeof(r->evidence), fmt, ap);
	va_end(ap);
}

/* Not measured: its own verdict, "skipped", with why. */
static void skip(struct conform_row *r, const char *why)
{
	r->verdict = CONFORM_SKIP;
	ev(r, "%s", why);
}

static void verdict(struct conform_row *r, bool pass)
{
	r->verdict = pass ? CONFORM_PASS : CONFORM_FAIL;
}

static const char *ep(const struct obs_ep *e, char *buf, size_t len)
{
	const uint8_t *a = (const uint8_t *)&e->addr;

	snprintf(buf, len, "%u.%u.%u.%u:%u", a[0], a[1], a[2], a[3], e->port);
	return buf;
}

/* RFC 4787 (UDP). */
static void judge_udp(const struct nat_measured *m, const struct conform_obs *o, struct conform_row *rows, int *n)
{
	struct conform_row *r;
	bool napt = m->udp && m->translated;
	char b1[24], b2[24];

	r = row(rows, n, "RFC4787 REQ-1", "endpoint-independent mapping", CONFORM_MUST);
	if (!m->udp)
		ev(r, "no UDP gets through");
	else if (!napt)
		ev(r, "no translation");
	else {
		verdict(r, m->mapping == NAT_ENDPOINT_INDEPENDENT);
		ev(r, "mapping is %s", dep(m->mapping));
	}
	r = row(rows, n, "RFC4787 REQ-2", "paired IP address pooling", CONFORM_SHOULD);
	if (napt && o->pool_addrs > 0) {
		verdict(r, o->pool_addrs == 1 && o->pool2_addrs <= 1);
		ev(r, "%d flows of one host to %d destinations: %d outside address%s%s", o->pool_flows,
		   o->pool_dests, o->pool_addrs, o->pool_addrs == 1 ? "" : "es",
		   o->pool2_addrs > 1 ? "; the second host's flows got several too" : "");
	}
	r = row(rows, n, "RFC4787 REQ-3", "no port overloading", CONFORM_MUST);
	if (napt && o->over1.addr && o->over2.addr) {
		bool shared = o->over1.addr == o->over2.addr && o->over1.port == o->over2.port;
		verdict(r, !shared);
		ev(r, "two hosts, one local port, two destinations: %s and %s%s", ep(&o->over1, b1, sizeof(b1)),
		   ep(&o->over2, b2, sizeof(b2)), shared ? " (one outside port for both)" : "");
	}
	/* §4.2.1: preservation is allowed, not required. */
	r = row(rows, n, "RFC4787 4.2.1", "port assignment (preservation)", CONFORM_MAY);
	if (napt) {
		r->verdict = m->ports == NAT_PORTS_PRESERVE ? CONFORM_PASS : CONFORM_NA;
		ev(r, "ports %s%s", m->ports < 0 ? "unknown" : nat_ports_name((enum nat_ports)m->ports),
		   m->ports == NAT_PORTS_PRESERVE ? "" : " (allowed)");
	}
	r = row(rows, n, "RFC4787 REQ-4", "port parity preserved", CONFORM_SHOULD);
	if (napt && o->parity_tried) {
		verdict(r, o->parity_kept == o->parity_tried);
		ev(r, "parity kept for %d of %d local ports", o->parity_kept, o->parity_tried);
	}
	r = row(rows, n, "RFC4787 REQ-5", "mapping lifetime >= 120 s", CONFORM_MUST);
	if (!napt)
		ev(r, "no translation");
	else if (m->lifetime_alive < 0 && m->lifetime_dead < 0)
		skip(r, "not measured (use --long)");
	else {
		/* Alive at a check near or past 2 minutes passes; gone by then fails. */
		r->verdict = m->lifetime_alive >= 119 ? CONFORM_PASS
			     : m->lifetime_dead >= 0 && m->lifetime_dead <= 120 ? CONFORM_FAIL
										  : CONFORM_NA;
		if (m->lifetime_dead < 0)
			ev(r, "alive at %d s", m->lifetime_alive);
		else if (m->lifetime_alive < 0)
			ev(r, "gone at %d s", m->lifetime_dead);
		else
			ev(r, "alive at %d s, gone at %d s", m->lifetime_alive, m->lifetime_dead);
	}
	/* RFC 4787 REQ-6: outbound packets MUST refresh a mapping, inbound
	 * ones MAY (REQ-6a). Only a mapping that dies unrefreshed can tell. */
	r = row(rows, n, "RFC4787 REQ-6", "outbound packets refresh a mapping", CONFORM_MUST);
	if (napt && !o->refresh_s)
		skip(r, "not measured (use --long)");
	else if (napt && o->refresh_none == 1)
		ev(r, "a mapping left alone still lived at %u s: nothing to tell", o->refresh_s);
	else if (napt && o->refresh_none == 0 && o->refresh_out >= 0) {
		verdict(r, o->refresh_out == 1);
		ev(r, "left alone, a mapping was gone at %u s; one refreshed from inside at %u s was %s", o->refresh_s,
		   o->refresh_s / 2, o->refresh_out ? "alive" : "gone too");
	}
	r = row(rows, n, "RFC4787 REQ-6a", "inbound packets refresh a mapping", CONFORM_MAY);
	if (napt && !o->refresh_s)
		skip(r, "not measured (use --long)");
	else if (napt && o->refresh_none == 0 && o->refresh_in >= 0) {
		r->verdict = o->refresh_in == 1 ? CONFORM_PASS : CONFORM_NA;
		ev(r, "one refreshed from outside at %u s was %s at %u s%s", o->refresh_s / 2, o->refresh_in ? "alive" : "gone",
		   o->refresh_s, o->refresh_in ? "" : " (allowed)");
	}
	/* RFC 4787 REQ-8: endpoint-independent filtering is RECOMMENDED for
	 * transparency, address-dependent for strictness; port-dependent is
	 * neither. */
	r = row(rows, n, "RFC4787 REQ-8", "filtering independent or address-dependent", CONFORM_SHOULD);
	if (m->udp && m->filtering >= 0) {
		verdict(r, m->filtering != NAT_ADDRESS_AND_PORT_DEPENDENT);
		ev(r, "filtering is %s", dep(m->filtering));
	}
	r = row(rows, n, "RFC4787 REQ-9", "hairpinning, from the external address", CONFORM_MUST);
	if (napt && m->hairpin >= 0) {
		verdict(r, m->hairpin && m->hairpin_external);
		ev(r, "%s", !m->hairpin ? "a packet to our own mapping never came back"
			    : m->hairpin_external ? "came back from our external address"
						  : "came back from the internal address");
	}
	r = row(rows, n, "RFC4787 REQ-10", "payload not rewritten (no UDP ALG)", CONFORM_SHOULD);
	if (m->udp && o->payload >= 0) {
		verdict(r, o->payload == 1);
		ev(r, "a payload quoting the inside address and port %s", o->payload ? "arrived unchanged" : "arrived rewritten");
	}
	r = row(rows, n, "RFC4787 REQ-11", "deterministic behaviour", CONFORM_MUST);
	if (napt && o->det_runs) {
		int kinds = (o->det_class[0] > 0) + (o->det_class[1] > 0) + (o->det_class[2] > 0);
		verdict(r, kinds == 1);
		ev(r, "mapping over %d fresh ports: %d endpoint-independent, %d address-dependent, %d address-and-port-dependent",
		   o->det_runs, o->det_class[0], o->det_class[1], o->det_class[2]);
	}
	r = row(rows, n, "RFC4787 REQ-12", "ICMP errors do not end a mapping", CONFORM_MUST);
	if (napt && o->icmp_keep >= 0) {
		verdict(r, o->icmp_keep == 1);
		ev(r, "after host and port unreachable about it, the mapping %s",
		   o->icmp_keep ? "still carries both ways" : "was gone or moved (or its filter closed again)");
	}
	r = row(rows, n, "RFC4787 REQ-13", "DF too big: ICMP fragmentation needed", CONFORM_MUST);
	if (m->udp && o->df >= 0) {
		verdict(r, o->df == 1);
		if (o->df)
			ev(r, "with a 1280-byte outside MTU, a 1428-byte DF datagram came back as needing MTU %d", o->df_mtu);
		else
			ev(r, "with a 1280-byte outside MTU, a 1428-byte DF datagram vanished without an ICMP error");
	}
	r = row(rows, n, "RFC4787 REQ-14", "fragments in and out of order, both ways", CONFORM_MUST);
	if (m->udp && o->frag[0] >= 0) {
		static const char *const name[] = { "out in order", "out reversed", "in in order", "in reversed" };
		char lost[96] = "";
		for (int i = 0; i < 4; i++)
			if (o->frag[i] != 1)
				snprintf(lost + strlen(lost), sizeof(lost) - strlen(lost), "%s%s", lost[0] ? ", " : "", name[i]);
		verdict(r, !lost[0]);
		if (lost[0])
			ev(r, "a 3000-byte datagram in 3 fragments was lost: %s", lost);
		else
			ev(r, "a 3000-byte datagram in 3 fragments arrived whole all four ways");
	}
}
/* A connection idle since 0, written to from outside at `at` s: alive
 * then at or past min_s passes, gone before it fails. */
static void judge_idle(struct conform_row *r, unsigned at, int alive, unsigned min_s, const char *what,
		       const char *unmeasured)
{
	if (!at || alive < 0) {
		skip(r, unmeasured);
		return;
	}
	if (alive && at >= min_s)
		r->verdict = CONFORM_PASS;
	else if (!alive && at <= min_s)
		r->verdict = CONFORM_FAIL;
	ev(r, "%s, idle %u s, then written to from outside: %s", what, at, alive ? "it got through" : "it never arrived");
}

/* RFC 5382 (TCP). */
static void judge_tcp(const struct conform_obs *o, struct conform_row *rows, int *n)
{
	struct conform_row *r;
	char b1[24], b2[24];
	int first = *n;

	r = row(rows, n, "RFC5382 REQ-1", "TCP endpoint-independent mapping", CONFORM_MUST);
	if (!o->tcp)
		ev(r, "no TCP connection got through");
	else if (o->tcp_m1.addr == o->client)
		ev(r, "no translation");
	else if (o->tcp_mapping >= 0) {
		verdict(r, o->tcp_mapping == NAT_ENDPOINT_INDEPENDENT);
		ev(r, "one local port to three destinations: mapping is %s", dep(o->tcp_mapping));
	}
	r = row(rows, n, "RFC5382 REQ-2", "TCP simultaneous open", CONFORM_MUST);
	if (o->tcp && o->tcp_mapping >= 0 && o->tcp_mapping != NAT_ENDPOINT_INDEPENDENT)
		ev(r, "the outside cannot aim at a mapping that changes per destination");
	else if (o->simopen >= 0) {
		verdict(r, o->simopen == 1);
		ev(r, "%s", o->simopen ? "the inside SYN opened the NAT, the outside SYN came through it: connected"
				: "the inside SYN opened the NAT, but the outside SYN never got through it");
	}
	r = row(rows, n, "RFC5382 REQ-3", "TCP filtering independent or address-dependent", CONFORM_SHOULD);
	if (o->tcp_filtering >= 0) {
		verdict(r, o->tcp_filtering != NAT_ADDRESS_AND_PORT_DEPENDENT);
		ev(r, "connections to a listening mapping: filtering is %s", dep(o->tcp_filtering));
	}
	r = row(rows, n, "RFC5382 REQ-4", "no answer to an unsolicited SYN for 6 s", CONFORM_MUST);
	if (o->tcp) {
		static const char *const ans[] = { "nothing", "a RST", "an ICMP error", "a connection" };
		bool early = o->syn_answer != OBS_NOTHING && o->syn_ms < 6000;
		verdict(r, !early);
		if (o->syn_answer == OBS_NOTHING)
			ev(r, "a SYN to an unused outside port got nothing in 8 s (a silent drop, allowed by REQ-4a)");
		else
			ev(r, "a SYN to an unused outside port got %s after %d ms", ans[o->syn_answer], o->syn_ms);
	}
	/* RFC 5382 REQ-5: idle-timeouts of at least 2 h 4 min for an
	 * established connection, 4 min for a transitory one. */
	r = row(rows, n, "RFC5382 REQ-5e", "TCP established idle-timeout >= 2 h 4 min", CONFORM_MUST);
	judge_idle(r, o->tcp_est_s, o->tcp_est_alive, 124 * 60, "an idle connection",
		   "not measured: it takes over two hours (--tcp-idle)");
	r = row(rows, n, "RFC5382 REQ-5t", "TCP transitory idle-timeout >= 4 min", CONFORM_MUST);
	judge_idle(r, o->tcp_tr_s, o->tcp_tr_alive, 4 * 60, "a connection half-closed from inside",
		   "not measured (use --long)");
	r = row(rows, n, "RFC5382 REQ-7", "no TCP port overloading", CONFORM_MUST);
	if (o->tcp && o->tcp_over2.addr) {
		bool shared = o->tcp_over1.addr == o->tcp_over2.addr && o->tcp_over1.port == o->tcp_over2.port;
		verdict(r, !shared);
		ev(r, "two hosts, one local port, two destinations: %s and %s%s", ep(&o->tcp_over1, b1, sizeof(b1)),
		   ep(&o->tcp_over2, b2, sizeof(b2)), shared ? " (one outside port for both)" : "");
	}
	r = row(rows, n, "RFC5382 REQ-8", "TCP hairpinning, from the external address", CONFORM_MUST);
	if (o->tcp && o->tcp_hairpin >= 0) {
		bool external = o->tcp_hairpin_from.addr == o->tcp_m1.addr;
		verdict(r, o->tcp_hairpin == 1 && external);
		if (o->tcp_hairpin != 1)
			ev(r, "a connection from the other inside host to our mapping never arrived");
		else
			ev(r, "arrived from %s, %s", ep(&o->tcp_hairpin_from, b1, sizeof(b1)),
			   external ? "the outside address" : "an inside address");
	}
	/* A router that does not translate TCP has no TCP NAT to judge. */
	if (o->tcp && o->tcp_m1.addr == o->client)
		for (int i = first; i < *n; i++)
			if (strncmp(rows[i].id, "RFC5382 REQ-5", 13)) {
				rows[i].verdict = CONFORM_NA;
				ev(&rows[i], "no translation");
			}
}

/* RFC 5508 (ICMP). */
static void judge_icmp(const struct nat_measured *m, const struct conform_obs *o, struct conform_row *rows, int *n)
{
	struct conform_row *r;
	const uint8_t *a = (const uint8_t *)&o->echo_from;
	bool plain = o->echo_from == o->client; /* the echo left untranslated */

	r = row(rows, n, "RFC5508 REQ-1", "ICMP echo from inside gets its reply", CONFORM_MUST);
	if (plain)
		ev(r, "no translation: the echo left from %u.%u.%u.%u", a[0], a[1], a[2], a[3]);
	else if (o->echo >= 0) {
		verdict(r, o->echo == 1);
		if (o->echo_from)
			ev(r, "echo id 0x%04x left as id 0x%04x from %u.%u.%u.%u; reply %s", o->echo_id_in, o->echo_id_out, a[0], a[1],
			   a[2], a[3], o->echo == 1 ? "came back" : "never came back");
		else
			ev(r, "the echo request never reached the outside");
	}
	r = row(rows, n, "RFC5508 REQ-2", "ICMP query mapping lives >= 60 s", CONFORM_MUST);
	if (plain)
		ev(r, "no translation");
	else if (!o->icmp_s)
		skip(r, "not measured (use --long)");
	else if (o->icmp_alive >= 0) {
		/* alive at 60 s or later passes; gone by then fails */
		if (o->icmp_alive == 1 && o->icmp_s >= 60)
			r->verdict = CONFORM_PASS;
		else if (o->icmp_alive == 0 && o->icmp_s <= 61)
			r->verdict = CONFORM_FAIL;
		ev(r, "the server's second echo reply, %u s on, %s", o->icmp_s,
		   o->icmp_alive ? "came through" : "found no mapping");
	}
	r = row(rows, n, "RFC5508 REQ-4", "outside ICMP errors translated back", CONFORM_MUST);
	if (!m->udp)
		ev(r, "no UDP gets through (the test's datagram)");
	else if (!m->translated)
		ev(r, "no translation");
	else if (o->icmp_error >= 0) {
		verdict(r, o->icmp_error == 1);
		ev(r, "port unreachable for a datagram from inside %s", o->icmp_error ? "reached the sending socket"
											 : "never reached the sending socket");
	}
}

/* RFC 6888 (carrier-grade NAT): only for a NAT whose inside is RFC 6598
 * shared space. */
static void judge_carrier(const struct nat_measured *m, const struct conform_obs *o, struct conform_row *rows, int *n)
{
	struct conform_row *r;
	const char *not_cgn = "not a carrier NAT: the inside is not 100.64.0.0/10";

	r = row(rows, n, "RFC6888 REQ-2", "paired pooling for every subscriber", CONFORM_MUST);
	if (!o->carrier)
		ev(r, "%s", not_cgn);
	else if (m->udp && o->pool_addrs > 0) {
		verdict(r, o->pool_addrs == 1 && o->pool2_addrs == 1);
		ev(r, "two subscribers: %d and %d outside address(es)", o->pool_addrs, o->pool2_addrs);
	}
	r = row(rows, n, "RFC6888 REQ-4", "per-subscriber port limit", CONFORM_MUST);
	if (!o->carrier)
		ev(r, "%s", not_cgn);
	else if (o->limit_tried) {
		verdict(r, o->limit_mapped < o->limit_tried);
		ev(r, "one subscriber opened %d flows, %d got a mapping", o->limit_tried, o->limit_mapped);
	}
	r = row(rows, n, "RFC5508 REQ-8", "ICMP prohibited when no mapping can be made", CONFORM_SHOULD);
	if (!o->carrier)
		ev(r, "%s", not_cgn);
	else if (o->limit_tried && o->limit_mapped < o->limit_tried) {
		verdict(r, o->limit_icmp_type == 3 && o->limit_icmp_code == 13);
		if (o->limit_icmp_type < 0)
			ev(r, "flows past the limit were dropped silently");
		else
			ev(r, "flows past the limit got ICMP type %d code %d", o->limit_icmp_type, o->limit_icmp_code);
	}
	/* RFC 6888 REQ-8: a port freed by an expired mapping waits 120 s
	 * before another mapping gets it. Judged on a subscriber whose ports
	 * were all taken: a new flow then can only get a freed one. */
	r = row(rows, n, "RFC6888 REQ-8", "port reuse hold-down >= 120 s", CONFORM_SHOULD);
	if (!o->carrier)
		ev(r, "%s", not_cgn);
	else if (!o->hold_s && o->limit_tried && o->limit_mapped == o->limit_tried)
		ev(r, "no port limit was reached to test it with");
	else if (!o->hold_s)
		skip(r, "not measured (use --long)");
	else if (o->hold_new == 1 && o->hold_reused) {
		r->verdict = CONFORM_FAIL;
		ev(r, "%u s after a subscriber took all its ports, a new flow got %u, a port given out before", o->hold_s,
		   o->hold_port);
	} else if (o->hold_new == 1)
		ev(r, "%d new flows got ports (the last %u) never seen in use before, and no end to them: nothing to tell",
		   o->hold_fresh, o->hold_port);
	else if (o->hold_new == 0 && o->hold_old_alive == 0) {
		r->verdict = CONFORM_PASS;
		ev(r, "%u s after a subscriber took all its ports, its old mappings were gone and new flows got none%s", o->hold_s,
		   o->hold_fresh ? " (once the ports its flows had missed were taken)" : "");
	} else if (o->hold_new == 0)
		ev(r, "the old mappings still lived at %u s: nothing to tell", o->hold_s);
}

/* Port mapping: NAT-PMP (RFC 6886), PCP (RFC 6887), UPnP IGD
 * (WANIPConnection v2): a granted mapping lets in a host outside that
 * the inside never wrote to, and removing it closes the port again. */
static void judge_pmap(const struct conform_obs *o, struct conform_row *rows, int *n)
{
	static const struct {
		int i;                  /* o->pm's index */
		const char *id_in, *what_in, *id_rm, *what_rm;
	} protos[] = {
		{ 1, "RFC6886 3.9", "NAT-PMP: a mapping lets any outside host in", "RFC6886 3.4",
		  "NAT-PMP: lifetime 0 removes the mapping" },
		{ 2, "RFC6887 11", "PCP: a MAP lets any outside host in", "RFC6887 15.1",
		  "PCP: lifetime 0 removes the mapping" },
		{ 0, "IGD 2.3.17", "UPnP IGD: a mapping lets any outside host in", "IGD 2.5.18",
		  "UPnP IGD: DeletePortMapping removes it" },
	};
	struct obs_ep at;
	char b[24];

	for (size_t k = 0; k < sizeof(protos) / sizeof(protos[0]); k++) {
		const struct obs_pmap *p = &o->pm[protos[k].i];
		const char *name = pmap_protocol_name(pmap_protocols[protos[k].i]);
		struct conform_row *in = row(rows, n, protos[k].id_in, protos[k].what_in, CONFORM_MUST);
		struct conform_row *rm = row(rows, n, protos[k].id_rm, protos[k].what_rm, CONFORM_MUST);

		if (!p->granted) {
			ev(in, "%s gave no mapping%s%s", name, p->why[0] ? ": " : "", p->why);
			ev(rm, "%s gave no mapping", name);
			continue;
		}
		at = (struct obs_ep){ p->ext_addr ? p->ext_addr : o->pm_seen, p->ext_port };
		if (p->inbound >= 0) {
			verdict(in, p->inbound == 1);
			ev(in, "mapped to %s for %u s: a datagram from an outside host it never wrote to %s", ep(&at, b, sizeof(b)),
			   p->lifetime, p->inbound ? "got in" : "was dropped");
		}
		if (p->removed == 0) {
			verdict(rm, false);
			ev(rm, "the removal was not acknowledged");
		} else if (p->after >= 0) {
			verdict(rm, p->after == 0);
			ev(rm, "removed; a new flow from outside to %s %s", ep(&at, b, sizeof(b)),
			   p->after ? "still got in" : "was dropped");
		}
	}
	/* RFC 6887 §15: the lifetime assigned may differ from the one asked
	 * for, but its minimum SHOULD be 120 s (we ask for 120). */
	struct conform_row *r = row(rows, n, "RFC6887 15", "PCP: assigned lifetime >= 120 s", CONFORM_SHOULD);
	if (!o->pm[2].granted)
		ev(r, "PCP gave no mapping");
	else {
		verdict(r, o->pm[2].lifetime >= 120);
		ev(r, "asked for 120 s, assigned %u s", o->pm[2].lifetime);
	}
	/* GetExternalIPAddress (and PCP's assigned external address) is
	 * where the mapping is reached: the address the outside sees. */
	r = row(rows, n, "IGD 2.5.20", "UPnP IGD: external address as seen outside", CONFORM_SHOULD);
	if (!o->pm[0].granted)
		ev(r, "UPnP IGD gave no mapping");
	else if (o->pm[0].ext_addr && o->pm_seen) {
		char said[INET_ADDRSTRLEN], seen[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &o->pm[0].ext_addr, said, sizeof(said));
		inet_ntop(AF_INET, &o->pm_seen, seen, sizeof(seen));
		verdict(r, o->pm[0].ext_addr == o->pm_seen);
		ev(r, "it said %s, the outside saw %s", said, seen);
	}
}

/* One's-complement sum of an IPv6 address's eight words (RFC 6296's
 * checksum neutrality keeps it). */
static uint16_t addr_sum(const uint8_t a[16])
{
	return csum_inet(a, 16, 0);
}

static void addr6_str(const uint8_t a[16], char *buf, size_t len)
{
	if (!inet_ntop(AF_INET6, a, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

#define NO_IPV6 "no IPv6 in the lab (a model with ipv6 = firewall, nptv6 or nat66 gives it)"

/* Does an NPTv6 row apply (the router translates IPv6's prefix and
 * answers)? If not, its evidence says why. */
static bool nptv6_applies(struct conform_row *r, const struct conform_obs *o)
{
	if (!o->v6_kind)
		ev(r, "%s", NO_IPV6);
	else if (o->v6_kind != NAT_IPV6_NPTV6)
		ev(r, "not NPTv6: the router does %s", nat_ipv6_name((enum nat_ipv6)o->v6_kind));
	else if (!o->v6.udp || !o->v6.translated)
		ev(r, "%s", !o->v6.udp ? "no UDP gets through over IPv6" : "no translation over IPv6");
	else
		return true;
	return false;
}

/* IPv6 through the router (RFC 6092 simple security, RFC 6296 NPTv6), from
 * the STUN probe over IPv6 where the lab has IPv6. */
static void judge_ipv6(const struct conform_obs *o, struct conform_row *rows, int *n)
{
	const struct nat_measured *m = &o->v6;
	struct conform_row *r;
	char b1[INET6_ADDRSTRLEN], b2[INET6_ADDRSTRLEN];

	/* REC-17: endpoint-independent filtering for transparency,
	 * address-dependent for strictness; by address and port is neither. */
	r = row(rows, n, "RFC6092 REC-17", "IPv6 UDP filtering endpoint- or address-dependent", CONFORM_SHOULD);
	if (!o->v6_kind)
		ev(r, "%s", NO_IPV6);
	else if (!m->udp)
		ev(r, "no UDP gets through over IPv6");
	else if (m->filtering >= 0) {
		verdict(r, m->filtering != NAT_ADDRESS_AND_PORT_DEPENDENT);
		ev(r, "filtering is %s; unsolicited inbound %s", dep(m->filtering),
		   m->unsolicited < 0 ? "unknown" : nat_unsolicited_name((enum nat_unsolicited)m->unsolicited));
	}
	r = row(rows, n, "RFC6296 6", "NPTv6: ports not translated", CONFORM_MUST);
	if (nptv6_applies(r, o)) {
		verdict(r, m->local.port == m->mapped.port);
		ev(r, "port %u left as %u", m->local.port, m->mapped.port);
	}
	/* §3.5 (prefixes longer than /48, as the lab's /64s): one word of
	 * the host part adjusted so that the address's sum is unchanged and
	 * no checksum needs rewriting. */
	r = row(rows, n, "RFC6296 3.5", "NPTv6: checksum-neutral mapping", CONFORM_SHOULD);
	if (nptv6_applies(r, o)) {
		uint16_t in = addr_sum(m->local.addr6), out = addr_sum(m->mapped.addr6);
		verdict(r, in == out);
		addr6_str(m->local.addr6, b1, sizeof(b1));
		addr6_str(m->mapped.addr6, b2, sizeof(b2));
		ev(r, "%s became %s: sums %04x and %04x%s", b1, b2, in, out,
		   in == out ? "" : " (a prefix swap with checksums rewritten)");
	}
}

int conform_judge(const struct nat_measured *m, const struct conform_obs *o, struct conform_row rows[CONFORM_MAX_ROWS])
{
	int n = 0;

	judge_udp(m, o, rows, &n);
	judge_tcp(o, rows, &n);
	judge_icmp(m, o, rows, &n);
	judge_carrier(m, o, rows, &n);
	judge_pmap(o, rows, &n);
	judge_ipv6(o, rows, &n);
	/* Say why a row was left without a verdict. */
	for (int i = 0; i < n; i++) {
		/* An IPv6-only site: IPv4's rows do not apply. */
		if (!o->client && rows[i].verdict == CONFORM_NA &&
		    (!strncmp(rows[i].id, "RFC4787", 7) || !strncmp(rows[i].id, "RFC5382", 7) ||
		     !strncmp(rows[i].id, "RFC5508", 7) || !strncmp(rows[i].id, "RFC6888", 7)))
			ev(&rows[i], "the site has no IPv4 (ipv4 = none)");
		if (!rows[i].evidence[0])
			ev(&rows[i], "%s", !strncmp(rows[i].id, "RFC5382", 7) && !o->tcp ? "no TCP connection got through"
					   : !m->udp						? "no UDP gets through"
					   : !m->translated					? "no translation"
												: "could not be observed");
	}
	return n;
}

void conform_measured_model(const struct nat_measured *m, const char *name, struct nat_model *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", name);
	out->translate = !m->udp || m->translated;
	out->udp_blocked = !m->udp;
	out->mapping = m->mapping >= 0 ? (enum nat_dependence)m->mapping : NAT_ENDPOINT_INDEPENDENT;
	out->filtering = m->filtering >= 0 ? (enum nat_dependence)m->filtering : NAT_ADDRESS_AND_PORT_DEPENDENT;
	out->ports = m->ports >= 0 ? (enum nat_ports)m->ports : NAT_PORTS_RANDOM;
	/* A model keeps a port only with one mapping per port (the parser's rule). */
	if (out->ports == NAT_PORTS_PRESERVE && out->mapping != NAT_ENDPOINT_INDEPENDENT)
		out->ports = NAT_PORTS_RANDOM;
	out->hairpin = m->hairpin == 1 && m->hairpin_external;
	out->unsolicited = m->unsolicited == NAT_UNSOLICITED_CONNTRACK ? NAT_UNSOLICITED_CONNTRACK
								       : NAT_UNSOLICITED_DROP_BEFORE_CONFIRM;
	out->udp_timeout = m->lifetime_dead > 0 && m->lifetime_dead < 120 ? (unsigned)m->lifetime_dead : 120;
	out->port_min = 1024;
	out->port_max = 65535;
}

void conform_measured_more(const struct conform_obs *o, struct nat_model *out)
{
	const struct nat_measured *v6 = &o->v6;

	/* A protocol counts when its mapping let an outside host in. */
	out->portmap = 0;
	for (int i = 0; i < OBS_PMAP; i++)
		if (o->pm[i].granted && o->pm[i].inbound == 1)
			out->portmap |= pmap_protocols[i];
	out->ipv6 = NAT_IPV6_NONE;
	if (o->v6_kind && v6->udp) {
		/* NPTv6 keeps the port and the host part, but for one word
		 * RFC 6296 §3.5 may adjust. */
		int words = 0;
		for (int w = 8; w < 16; w += 2)
			words += memcmp(v6->local.addr6 + w, v6->mapped.addr6 + w, 2) != 0;
		out->ipv6 = !v6->translated ? NAT_IPV6_FIREWALL
			    : words <= 1 && v6->local.port == v6->mapped.port ? NAT_IPV6_NPTV6
									      : NAT_IPV6_NAT66;
	}
}

const struct conform_row *conform_find(const struct conform_row *rows, int n, const char *id)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(rows[i].id, id))
			return &rows[i];
	return NULL;
}

bool conform_must_failed(const struct conform_row *rows, int n)
{
	for (int i = 0; i < n; i++)
		if (rows[i].level == CONFORM_MUST && rows[i].verdict == CONFORM_FAIL)
			return true;
	return false;
}

const char *conform_verdict_word(const struct conform_row *r)
{
	return verdict_names[r->verdict];
}

void conform_print(const char *subject, const struct conform_row *rows, int n, FILE *out)
{
	int count[4] = { 0 }, musts = 0;

	fprintf(out, "conformance of %s\n%-14s %-50s %-6s %-7s %s\n", subject, "REQUIREMENT", "", "LEVEL", "VERDICT",
		"EVIDENCE");
	for (int i = 0; i < n; i++) {
		fprintf(out, "%-14s %-50s %-6s %-7s %s\n", rows[i].id, rows[i].what, level_names[rows[i].level],
			conform_verdict_word(&rows[i]), rows[i].evidence);
		count[rows[i].verdict]++;
		musts += rows[i].verdict == CONFORM_FAIL && rows[i].level == CONFORM_MUST;
	}
	fprintf(out, "%d requirements: %d pass, %d FAIL (%d of them MUST), %d n/a (do not apply), %d skipped (not measured)\n",
		n, count[CONFORM_PASS], count[CONFORM_FAIL], musts, count[CONFORM_NA], count[CONFORM_SKIP]);
}

void conform_print_json(const char *subject, const struct conform_row *rows, int n, FILE *out)
{
	fprintf(out, "{\"subject\":");
	text_json_put(out, subject);
	fprintf(out, ",\"requirements\":[");
	for (int i = 0; i < n; i++) {
		fprintf(out, "%s\n  {\"id\":\"%s\",\"what\":", i ? "," : "", rows[i].id);
		text_json_put(out, rows[i].what);
		fprintf(out, ",\"level\":\"%s\",\"verdict\":\"%s\",\"evidence\":", level_names[rows[i].level],
			rows[i].verdict == CONFORM_FAIL ? "fail" : conform_verdict_word(&rows[i]));
		text_json_put(out, rows[i].evidence);
		fprintf(out, "}");
	}
	fprintf(out, "\n],\"must_failed\":%s}\n", conform_must_failed(rows, n) ? "true" : "false");
}
