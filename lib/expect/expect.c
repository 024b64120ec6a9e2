#include "expect.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

static const char *const technique_names[] = {
	[EXPECT_NONE] = "none", [EXPECT_SAME_LAN] = "same-lan", [EXPECT_OPEN] = "open",
	[EXPECT_PUNCH] = "punching", [EXPECT_PREDICTION] = "prediction", [EXPECT_BIRTHDAY] = "birthday",
	[EXPECT_HAIRPIN] = "hairpin", [EXPECT_PUNCH_OPENERS] = "punching-with-openers",
	[EXPECT_PORTMAP] = "port-mapping",
};

const char *expect_technique_name(enum expect_technique t)
{
	return technique_names[t];
}

bool expect_technique_special(enum expect_technique t)
{
	return t == EXPECT_PREDICTION || t == EXPECT_BIRTHDAY || t == EXPECT_PUNCH_OPENERS || t == EXPECT_PORTMAP;
}

int expect_technique_parse(const char *name)
{
	for (size_t t = 0; t < sizeof(technique_names) / sizeof(technique_names[0]); t++)
		if (!strcmp(technique_names[t], name))
			return (int)t;
	return -1;
}

static void verdict(struct expect_result *r, bool direct, enum expect_technique t, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void verdict(struct expect_result *r, bool direct, enum expect_technique t, const char *fmt, ...)
{
	va_list ap;

	r->direct = direct;
	r->technique = t;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
}

struct nat_model expect_tcp_view(const struct nat_model *m)
{
	struct nat_model t = *m;

	t.udp_blocked = false;
	if (!m->translate)
		return t;
	t.mapping = NAT_ENDPOINT_INDEPENDENT;
	t.filtering = NAT_ADDRESS_AND_PORT_DEPENDENT;
	t.ports = NAT_PORTS_PRESERVE;
	t.hairpin = false;
	t.port_block = 0;
	return t;
}

struct nat_model expect_compose(const struct nat_model *inner, const struct nat_model *outer)
{
	struct nat_model m = *outer;

	if (!outer->translate) {
		m = *inner;
		m.udp_blocked |= outer->udp_blocked;
		return m;
	}
	if (!inner->translate) {
		m.udp_blocked |= inner->udp_blocked;
		return m;
	}
	snprintf(m.name, sizeof(m.name), "%.20s+%.20s", inner->name, outer->name);
	m.udp_blocked = inner->udp_blocked || outer->udp_blocked;
	/* A mapping depends on the destination if either layer's does; the
	 * stricter filter of the two decides what gets in. */
	m.mapping = inner->mapping > outer->mapping ? inner->mapping : outer->mapping;
	m.filtering = inner->filtering > outer->filtering ? inner->filtering : outer->filtering;
	/* The outside sees the outer layer's ports, unless it keeps the inner's. */
	m.ports = outer->ports == NAT_PORTS_PRESERVE ? inner->ports : outer->ports;
	m.unsolicited = inner->unsolicited == NAT_UNSOLICITED_CONNTRACK || outer->unsolicited == NAT_UNSOLICITED_CONNTRACK
				? NAT_UNSOLICITED_CONNTRACK
				: NAT_UNSOLICITED_DROP_BEFORE_CONFIRM;
	m.hairpin = outer->hairpin;
	return m;
}

/* Plain punching, unless a NAT's conntrack quirk is in the way: where a
 * peer's punch reaches a NAT that keeps unsolicited packets (Linux's plain
 * masquerade) before its own side has sent, that side's next mapping to
 * the peer takes a new port; the peer's NAT lets packets from that port in
 * only if it does not filter by port. So the first punches toward such a
 * NAT must die before it (openers with a low TTL: they open their own NAT
 * and go no further), or come only after its side has sent; the second a
 * standard ICE stack does by luck, and through two such NATs never. */
static void punching(const struct nat_model *a, const struct nat_model *b, struct expect_result *r, const char *plain)
{
	const bool a_trap = a->unsolicited == NAT_UNSOLICITED_CONNTRACK && b->filtering == NAT_ADDRESS_AND_PORT_DEPENDENT;
	const bool b_trap = b->unsolicited == NAT_UNSOLICITED_CONNTRACK && a->filtering == NAT_ADDRESS_AND_PORT_DEPENDENT;

	if (a_trap && b_trap)
		verdict(r, true, EXPECT_PUNCH_OPENERS,
			"%s; but both NATs keep unsolicited packets in conntrack and filter by port: the first punch to "
			"arrive moves the other's mapping to a port its filter drops, so the first punches must be openers "
			"whose TTL dies between the NATs (plain ICE checks fail)", plain);
	else if (a_trap || b_trap)
		verdict(r, true, EXPECT_PUNCH_OPENERS,
			"%s; but %s's NAT keeps unsolicited packets in conntrack and %s's filters by port: %s's punches must "
			"not reach it before %s has sent (openers whose TTL dies between the NATs; plain punching works "
			"only if the order is lucky)",
			plain, a_trap ? "a" : "b", a_trap ? "b" : "a", a_trap ? "b" : "a", a_trap ? "a" : "b");
	else
		verdict(r, true, EXPECT_PUNCH, "%s", plain);
}

/* Both sides behind translating NATs, each seen from the internet. */
static void across_the_internet(const struct nat_model *a, const struct nat_model *b, struct expect_result *r)
{
	const bool a_eim = a->mapping == NAT_ENDPOINT_INDEPENDENT, b_eim = b->mapping == NAT_ENDPOINT_INDEPENDENT;

	/* Endpoint-independent on both sides: the mappings the introducer saw
	 * are the ones the peers will use, and each side's outbound punch opens
	 * its own filter for the other's mapping, whatever the filtering. */
	if (a_eim && b_eim) {
		punching(a, b, r, "both NATs map endpoint-independently: each peer punches to the other's reflexive endpoint");
		return;
	}
	/* One side (hard) makes a new mapping for the other; the easy side's
	 * mapping is known. The hard side's packets reach the easy side's
	 * mapping, and get in if the easy side filters by address only. */
	if (a_eim != b_eim) {
		const struct nat_model *easy = a_eim ? a : b, *hard = a_eim ? b : a;
		const char *e = a_eim ? "a" : "b", *h = a_eim ? "b" : "a";

		if (easy->filtering != NAT_ADDRESS_AND_PORT_DEPENDENT) {
			char plain[200];

			snprintf(plain, sizeof(plain),
				 "%s's NAT maps per destination, but %s's NAT filters by %s: %s's packets reach %s's mapping "
				 "from whatever port %s's NAT picks",
				 h, e, easy->filtering == NAT_ENDPOINT_INDEPENDENT ? "nothing" : "address only", h, e, h);
			punching(a, b, r, plain);
			return;
		}
		if (hard->ports == NAT_PORTS_SEQUENTIAL) {
			verdict(r, true, EXPECT_PREDICTION,
				"%s's NAT maps per destination with sequential ports and %s's filters by address and port: "
				"%s punches to %s's predicted next port", h, e, e, h);
			return;
		}
		verdict(r, true, EXPECT_BIRTHDAY,
			"%s's NAT maps per destination with unpredictable ports and %s's filters by address and port: "
			"only birthday-paradox probing (many ports at once, within its packet budget) can meet; it may fail", h, e);
		return;
	}
	/* Both map per destination: neither side's port toward the other can be
	 * learned from the introducer. Only two predictable allocators meet. */
	if (a->ports == NAT_PORTS_SEQUENTIAL && b->ports == NAT_PORTS_SEQUENTIAL) {
		verdict(r, true, EXPECT_PREDICTION,
			"both NATs map per destination, both with sequential ports: each punches to the other's predicted port");
		return;
	}
	verdict(r, false, EXPECT_NONE,
		"both NATs map per destination and %s allocates ports unpredictably: no direct path is possible",
		a->ports != NAT_PORTS_SEQUENTIAL && b->ports != NAT_PORTS_SEQUENTIAL ? "each" : "one");
}

/* A router that maps a port on request (the outermost NAT's: a home
 * router's mapping behind a carrier NAT opens nothing outside) lets
 * anyone reach that port: the other side sends to it, whatever its own
 * NAT, and the answers come back by conntrack. Named only where plain
 * punching would not do. */
static void with_port_mapping(const struct nat_model *a, const struct nat_model *b, struct expect_result *r)
{
	const struct nat_model *m = a->portmap ? a : b->portmap ? b : NULL;
	char how[32], plain[sizeof(r->why)];

	if (!m || (r->direct && !expect_technique_special(r->technique)))
		return;
	snprintf(plain, sizeof(plain), "%s", r->why);
	verdict(r, true, EXPECT_PORTMAP,
		"%s's router maps a port on request (%s): %s sends to the mapped endpoint, which anyone may reach (without "
		"it: %s)",
		m == a ? "a" : "b", nat_portmap_name(m->portmap, how, sizeof(how)), m == a ? "b" : "a", plain);
}

void expect_path(const struct nat_model *a, const struct nat_model *b, enum expect_shape shape,
		 const struct nat_model *carrier, struct expect_result *r)
{
	struct nat_model ca, cb;

	memset(r, 0, sizeof(*r));
	if (shape == SHAPE_SAME_LAN) {
		/* On one LAN the NAT is not in the way: local candidates meet. */
		verdict(r, true, EXPECT_SAME_LAN, "both peers are on one LAN: they reach each other's local addresses");
		return;
	}
	if (a->udp_blocked || b->udp_blocked) {
		verdict(r, false, EXPECT_NONE, "%s's network drops outbound UDP: only the relay over TCP gets through",
			a->udp_blocked ? "a" : "b");
		return;
	}
	if (shape == SHAPE_SAME_CARRIER && carrier) {
		/* Inside the carrier each home NAT is seen directly; the peers meet
		 * either at each other's home NAT (if they learn its address) or at
		 * the carrier's mappings, which needs the carrier to hairpin. */
		if (!carrier->hairpin) {
			verdict(r, false, EXPECT_NONE,
				"both homes are behind one carrier NAT that does not hairpin, and the introducer sees only its "
				"public address: no direct path");
			return;
		}
		ca = expect_compose(a, carrier);
		cb = expect_compose(b, carrier);
		across_the_internet(&ca, &cb, r);
		if (r->direct) {
			char inner[sizeof(r->why)];
			snprintf(inner, sizeof(inner), "%s", r->why);
			verdict(r, true, EXPECT_HAIRPIN, "the carrier NAT hairpins, so the peers meet at its mappings; %s", inner);
		}
		return;
	}
	if (!a->translate && !b->translate) {
		verdict(r, true, EXPECT_OPEN, "neither side is behind any NAT");
		return;
	}
	if (!a->translate || !b->translate) {
		/* A host with no NAT and no filter answers whatever reaches it. */
		verdict(r, true, EXPECT_OPEN, "%s has public addresses and no filter: %s reaches it directly",
			!a->translate ? "a" : "b", !a->translate ? "b" : "a");
		return;
	}
	across_the_internet(a, b, r);
	with_port_mapping(a, b, r);
}
