/* The mesh's wire protocol: every message sealed and opened, forgeries and
 * damage refused, relay and TCP framing, keys as wireguard-tools writes
 * them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "mesh/frag.h"
#include "mesh/proto.h"
#include "nat/model.h"
#include "mesh/status.h"
#include "mesh/stream.h"

static uint8_t alice_priv[32], alice_pub[32], bob_priv[32], bob_pub[32], ab[32], ba[32];

static int setup(void **state)
{
	(void)state;
	assert_true(sodium_init() >= 0);
	randombytes_buf(alice_priv, 32);
	randombytes_buf(bob_priv, 32);
	key_public(alice_pub, alice_priv);
	key_public(bob_pub, bob_priv);
	assert_int_equal(mesh_shared_key(ab, bob_pub, alice_priv), 0);
	assert_int_equal(mesh_shared_key(ba, alice_pub, bob_priv), 0);
	return 0;
}

static struct wg_endpoint ep(const char *s)
{
	struct wg_endpoint e;

	assert_int_equal(wg_endpoint_parse(s, &e), 0);
	return e;
}

static void roundtrip(const struct mesh_msg *in, struct mesh_msg *out)
{
	uint8_t wire[MESH_MAX_MSG];
	char why[160];
	int n = mesh_seal(in, bob_pub, ab, wire, sizeof(wire));

	assert_true(n > MESH_CONTROL_OVERHEAD);
	assert_true(mesh_is_message(wire, (size_t)n));
	assert_false(wg_is_message(wire, (size_t)n));
	assert_int_equal(mesh_receive(wire, (size_t)n, bob_priv, ba, out, why, sizeof(why)), 0);
	assert_int_equal(out->type, in->type);
	assert_int_equal(out->counter, in->counter);
	assert_memory_equal(out->sender, alice_pub, 32);
}

static void every_message_type_survives_seal_and_open(void **state)
{
	struct mesh_msg m = { 0 }, o;

	(void)state;
	memcpy(m.sender, alice_pub, 32);
	m.counter = (uint64_t)1796000000 << 32 | 9;
	m.type = MESH_REGISTER;
	m.u.reg.has_join = true;
	memset(m.u.reg.join, 7, 32);
	strcpy(m.u.reg.name, "alice");
	m.u.reg.ttl = 3;
	m.u.reg.n_cands = 2;
	m.u.reg.cands[0] = ep("10.0.1.2:4000");
	m.u.reg.cands[1] = ep("[fd00::1]:4000");
	roundtrip(&m, &o);
	assert_true(o.u.reg.has_join);
	assert_string_equal(o.u.reg.name, "alice");
	assert_int_equal(o.u.reg.ttl, 3);
	assert_int_equal(o.u.reg.n_cands, 2);
	assert_true(wg_endpoint_equal(&o.u.reg.cands[1], &m.u.reg.cands[1]));
	assert_int_equal(o.u.reg.mapped.addr.ss_family, 0);
	m.u.reg.mapped = ep("192.0.2.2:51820");   /* and with a port mapping */
	m.u.reg.mapped_by = NAT_PORTMAP_PCP;
	roundtrip(&m, &o);
	assert_true(wg_endpoint_equal(&o.u.reg.mapped, &m.u.reg.mapped));
	assert_int_equal(o.u.reg.mapped_by, NAT_PORTMAP_PCP);
	assert_true(o.u.reg.has_join);

	memset(&m.u, 0, sizeof(m.u));
	m.type = MESH_REGISTERED;
	m.u.regd.seen = ep("192.0.2.2:1234");
	m.u.regd.via = 1;
	m.u.regd.id = 77;
	m.u.regd.mesh4 = htonl(0x64640101);
	m.u.regd.plen4 = 16;
	m.u.regd.plen6 = 48;
	memset(m.u.regd.token, 0xab, MESH_TOKEN_LEN);
	strcpy(m.u.regd.name, "alice");
	roundtrip(&m, &o);
	assert_string_equal(o.u.regd.name, "alice");
	assert_true(wg_endpoint_equal(&o.u.regd.seen, &m.u.regd.seen));
	assert_int_equal(o.u.regd.id, 77);
	assert_memory_equal(o.u.regd.token, m.u.regd.token, MESH_TOKEN_LEN);

	memset(&m.u, 0, sizeof(m.u));
	m.type = MESH_PUNCH;
	m.u.punch.round = 5;
	m.u.punch.peer.id = 2;
	memcpy(m.u.punch.peer.key, bob_pub, 32);
	strcpy(m.u.punch.peer.name, "bob");
	m.u.punch.peer.seen[0] = ep("192.0.2.10:5000");
	m.u.punch.peer.seen[1] = ep("192.0.2.10:5001");
	m.u.punch.peer.n_cands = 1;
	m.u.punch.peer.cands[0] = ep("10.0.2.2:5000");
	m.u.punch.peer.tcp_only = true;
	roundtrip(&m, &o);
	assert_int_equal(o.u.punch.round, 5);
	assert_string_equal(o.u.punch.peer.name, "bob");
	assert_true(wg_endpoint_equal(&o.u.punch.peer.seen[1], &m.u.punch.peer.seen[1]));
	assert_true(o.u.punch.peer.tcp_only);
	assert_int_equal(o.u.punch.peer.mapped.addr.ss_family, 0);
	m.u.punch.peer.mapped = ep("192.0.2.10:40000");
	m.u.punch.peer.mapped_by = NAT_PORTMAP_UPNP;
	roundtrip(&m, &o);
	assert_true(wg_endpoint_equal(&o.u.punch.peer.mapped, &m.u.punch.peer.mapped));
	assert_int_equal(o.u.punch.peer.mapped_by, NAT_PORTMAP_UPNP);
	assert_true(o.u.punch.peer.tcp_only);
	assert_int_equal(o.u.punch.peer.seen6.addr.ss_family, 0);
	m.u.punch.peer.seen6 = ep("[2001:db8:0:4::2]:5000");   /* and where IPv6 saw it */
	roundtrip(&m, &o);
	assert_true(wg_endpoint_equal(&o.u.punch.peer.seen6, &m.u.punch.peer.seen6));
	assert_true(wg_endpoint_equal(&o.u.punch.peer.mapped, &m.u.punch.peer.mapped));
	m.u.punch.peer.mapped = (struct wg_endpoint){ 0 };       /* IPv6 alone */
	roundtrip(&m, &o);
	assert_true(wg_endpoint_equal(&o.u.punch.peer.seen6, &m.u.punch.peer.seen6));
	assert_int_equal(o.u.punch.peer.mapped.addr.ss_family, 0);

	memset(&m.u, 0, sizeof(m.u));
	m.type = MESH_REGISTERED;               /* an answer on the introducer's IPv6 address */
	m.u.regd.seen = ep("[2001:db8:0:4::2]:5000");
	m.u.regd.via = MESH_VIA_UDP6;
	roundtrip(&m, &o);
	assert_int_equal(o.u.regd.via, MESH_VIA_UDP6);
	assert_true(wg_endpoint_equal(&o.u.regd.seen, &m.u.regd.seen));

	memset(&m.u, 0, sizeof(m.u));
	m.type = MESH_PONG;
	m.u.ping.txid = 0x1122334455667788ULL;
	m.u.ping.addr = ep("198.51.100.2:9");
	roundtrip(&m, &o);
	assert_int_equal(o.u.ping.txid, m.u.ping.txid);

	memset(&m.u, 0, sizeof(m.u));
	m.type = MESH_REFUSED;
	m.u.refused.reason = MESH_REFUSED_NOT_MEMBER;
	roundtrip(&m, &o);
	assert_int_equal(o.u.refused.reason, MESH_REFUSED_NOT_MEMBER);

	memset(&m.u, 0, sizeof(m.u));
	m.type = MESH_RESYNC;
	m.u.resync.newest = 0x0102030405060708ULL;
	roundtrip(&m, &o);
	assert_int_equal(o.u.resync.newest, m.u.resync.newest);
}

/* The cheap MAC again, as anyone who knows the receiver's public key can
 * make it: what is checked after it is the crypto. */
static void remac(uint8_t *wire, size_t n, const uint8_t to_pub[32])
{
	uint8_t key[32];

	mesh_mac1_key(key, to_pub);
	mesh_mac1_put(wire, n - MESH_MAC1_LEN, key);
}

static void forged_or_damaged_messages_do_not_open(void **state)
{
	struct mesh_msg m = { .type = MESH_CONNECT }, o;
	uint8_t wire[MESH_MAX_MSG], other[32];
	char why[160];
	int n;

	(void)state;
	memcpy(m.sender, alice_pub, 32);
	m.u.connect.id = 3;
	n = mesh_seal(&m, bob_pub, ab, wire, sizeof(wire));
	/* Every flipped bit past the header is caught: by the cheap MAC... */
	for (int i = MESH_HDR_LEN; i < n; i++) {
		wire[i] ^= 1;
		assert_int_equal(mesh_receive(wire, (size_t)n, bob_priv, ba, &o, why, sizeof(why)), -EBADMSG);
		assert_non_null(strstr(why, "without a valid MAC"));
		/* ...and by the crypto, when the MAC is made again to match. */
		if (i < n - MESH_MAC1_LEN) {
			remac(wire, (size_t)n, bob_pub);
			assert_int_equal(mesh_receive(wire, (size_t)n, bob_priv, ba, &o, why, sizeof(why)), -EBADMSG);
			assert_true(strstr(why, "does not authenticate") || strstr(why, "does not open"));
		}
		wire[i] ^= 1;
		remac(wire, (size_t)n, bob_pub);
	}
	assert_int_equal(mesh_receive(wire, (size_t)n, bob_priv, ba, &o, why, sizeof(why)), 0);
	/* Another pair key (not alice's): the body does not open. */
	randombytes_buf(other, sizeof(other));
	assert_int_equal(mesh_receive(wire, (size_t)n, bob_priv, other, &o, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "does not authenticate"));
	/* Another receiver (alice herself): its MAC is not hers; made hers,
	 * the sender's key does not open. */
	assert_int_equal(mesh_receive(wire, (size_t)n, alice_priv, ba, &o, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "without a valid MAC"));
	remac(wire, (size_t)n, alice_pub);
	assert_int_equal(mesh_receive(wire, (size_t)n, alice_priv, ab, &o, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "does not open"));
	remac(wire, (size_t)n, bob_pub);
	assert_int_equal(mesh_receive(wire, (size_t)n - 1, bob_priv, ba, &o, why, sizeof(why)), -EBADMSG);
	assert_int_equal(mesh_receive(wire, 10, bob_priv, ba, &o, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "not a control message"));
}

/* Alice's PING to bob, as sent to 192.0.2.9:4000. */
static struct mesh_msg alice_ping(uint64_t counter)
{
	struct mesh_msg m = { .type = MESH_PING };

	memcpy(m.sender, alice_pub, 32);
	m.counter = counter;
	m.u.ping.txid = 5;
	m.u.ping.addr = ep("192.0.2.9:4000");
	return m;
}

/* A PING captured on the path, its type made PONG and its sender made the
 * peer, sent back to whoever sent it: it must not open as the peer's PONG
 * (it did: the header was outside the box and the key the same both ways,
 * issue 13 #2). Every header byte is bound into the keys, and a message
 * opens for its receiver only. */
static void a_reflected_message_does_not_open(void **state)
{
	struct mesh_msg m = alice_ping(77), o;
	uint8_t wire[MESH_MAX_MSG];
	char why[160];
	int n;

	(void)state;
	n = mesh_seal(&m, bob_pub, ab, wire, sizeof(wire));
	assert_true(n > 0);
	assert_int_equal(mesh_receive(wire, (size_t)n, bob_priv, ba, &o, why, sizeof(why)), 0);
	/* The type alone (with a MAC made to match). */
	wire[3] = MESH_PONG;
	remac(wire, (size_t)n, bob_pub);
	assert_int_equal(mesh_receive(wire, (size_t)n, bob_priv, ba, &o, why, sizeof(why)), -EBADMSG);
	/* Back to alice as a PONG: it is not for her. */
	remac(wire, (size_t)n, alice_pub);
	assert_int_equal(mesh_receive(wire, (size_t)n, alice_priv, ab, &o, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "does not open"));
	/* Back to alice as the PING it was. */
	wire[3] = MESH_PING;
	remac(wire, (size_t)n, alice_pub);
	assert_int_equal(mesh_receive(wire, (size_t)n, alice_priv, ab, &o, why, sizeof(why)), -EBADMSG);
	/* Every header byte after the magic and version, and the ephemeral key. */
	remac(wire, (size_t)n, bob_pub);
	assert_int_equal(mesh_receive(wire, (size_t)n, bob_priv, ba, &o, why, sizeof(why)), 0);
	for (int i = 3; i < MESH_HDR_LEN + MESH_EPH_LEN; i++) {
		wire[i] ^= 1;
		remac(wire, (size_t)n, bob_pub);
		assert_int_equal(mesh_receive(wire, (size_t)n, bob_priv, ba, &o, why, sizeof(why)), -EBADMSG);
		wire[i] ^= 1;
	}
}

/* Does any run of 16 bytes of a occur in b? */
static bool share_16(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	for (size_t i = 0; i + 16 <= an; i++)
		for (size_t j = 0; j + 16 <= bn; j++)
			if (!memcmp(a + i, b + j, 16))
				return true;
	return false;
}

/* Issue 13 #10: the sender's key was in clear on every control message.
 * The same message sealed twice shares no run of 16 bytes with the other
 * copy, and holds neither party's key anywhere. */
static void a_sealed_message_names_no_one(void **state)
{
	struct mesh_msg m = alice_ping(1);
	uint8_t w1[MESH_MAX_MSG], w2[MESH_MAX_MSG];
	int n1, n2;

	(void)state;
	n1 = mesh_seal(&m, bob_pub, ab, w1, sizeof(w1));
	n2 = mesh_seal(&m, bob_pub, ab, w2, sizeof(w2));
	assert_int_equal(n1, n2);
	assert_false(share_16(w1, (size_t)n1, w2, (size_t)n2));
	assert_false(share_16(alice_pub, 32, w1, (size_t)n1));
	assert_false(share_16(bob_pub, 32, w1, (size_t)n1));
	assert_memory_equal(w1, w2, MESH_HDR_LEN); /* what stays: magic, version, type */
}

/* Another protocol version is refused, with both versions named. */
static void another_version_is_refused_by_name(void **state)
{
	struct mesh_msg m = { .type = MESH_CONNECT }, o;
	uint8_t wire[MESH_MAX_MSG];
	char why[160], want[64];
	int n;

	(void)state;
	memcpy(m.sender, alice_pub, 32);
	n = mesh_seal(&m, bob_pub, ab, wire, sizeof(wire));
	assert_true(n > 0);
	wire[2] = MESH_VERSION - 1;
	assert_int_equal(mesh_receive(wire, (size_t)n, bob_priv, ba, &o, why, sizeof(why)), -EPROTO);
	snprintf(want, sizeof(want), "protocol version %d; we speak %d", MESH_VERSION - 1, MESH_VERSION);
	assert_non_null(strstr(why, want));
}

static void malformed_bodies_are_refused_with_a_reason(void **state)
{
	struct mesh_msg m;
	uint8_t body[64] = { 0 };
	char why[160];

	(void)state;
	/* CONNECT: counter and session (16 bytes) + 4 bytes; one short, one long. */
	assert_int_equal(mesh_msg_decode(MESH_CONNECT, body, 20, &m, why, sizeof(why)), 0);
	assert_int_equal(mesh_msg_decode(MESH_CONNECT, body, 19, &m, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "cut short"));
	assert_int_equal(mesh_msg_decode(MESH_CONNECT, body, 21, &m, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "too many"));
	assert_int_equal(mesh_msg_decode(99, body, 20, &m, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "unknown control message type 99"));
	/* REGISTER with 200 candidates claimed. */
	body[16] = 0;           /* no join */
	body[17] = 1, body[18] = 'x';
	body[19] = 64;          /* ttl */
	body[20] = 200;
	assert_int_equal(mesh_msg_decode(MESH_REGISTER, body, 21, &m, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "200 candidates"));
	/* A name with a control character. */
	body[20] = 0;
	body[18] = '\n';
	assert_int_equal(mesh_msg_decode(MESH_REGISTER, body, 21, &m, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "not printable"));
	/* A port mapping by no protocol we know, and one without an endpoint. */
	memset(body, 0, sizeof(body));
	body[16] = 4;                                   /* a mapping follows */
	body[17] = 4, body[18] = 192, body[21] = 2, body[22] = 0xca, body[23] = 0x6c;
	body[24] = 3;                                   /* UPnP and NAT-PMP at once */
	body[25] = 1, body[26] = 'x';
	assert_int_equal(mesh_msg_decode(MESH_REGISTER, body, 64, &m, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "port mapping by protocol 3"));
	body[24] = 4;
	assert_int_equal(mesh_msg_decode(MESH_REGISTER, body, 64, &m, why, sizeof(why)), 0);
	assert_int_equal(m.u.reg.mapped_by, NAT_PORTMAP_PCP);
	body[22] = body[23] = 0;                        /* to port 0: peers would send nowhere */
	assert_int_equal(mesh_msg_decode(MESH_REGISTER, body, 64, &m, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "port mapping to port 0"));
	memmove(body + 18, body + 24, 40);
	body[17] = 0;                                   /* family 0: no endpoint */
	assert_int_equal(mesh_msg_decode(MESH_REGISTER, body, 58, &m, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "without an endpoint"));
	/* REGISTERED from a fifth place (there are four: two IPv4
	 * addresses, TCP, IPv6). */
	{
		struct mesh_msg r = { .type = MESH_REGISTERED };
		uint8_t enc[128];
		int n;
		r.u.regd.via = MESH_VIAS;
		n = mesh_msg_encode(&r, enc, sizeof(enc));
		assert_true(n > 0);
		assert_int_equal(mesh_msg_decode(MESH_REGISTERED, enc, (size_t)n, &m, why, sizeof(why)), -EBADMSG);
		assert_non_null(strstr(why, "via 4"));
	}
	/* A member's record whose IPv6 endpoint is IPv4, and one with flags
	 * no version knows. */
	{
		struct mesh_msg r = { .type = MESH_PEER };
		uint8_t enc[256];
		int n;
		r.u.peer.seen6 = ep("192.0.2.1:5");
		n = mesh_msg_encode(&r, enc, sizeof(enc));
		assert_true(n > 0);
		assert_int_equal(mesh_msg_decode(MESH_PEER, enc, (size_t)n, &m, why, sizeof(why)), -EBADMSG);
		assert_non_null(strstr(why, "not IPv6"));
		r.u.peer.seen6 = ep("[2001:db8::1]:5");
		n = mesh_msg_encode(&r, enc, sizeof(enc));
		assert_int_equal(mesh_msg_decode(MESH_PEER, enc, (size_t)n, &m, why, sizeof(why)), 0);
		for (int i = 0; i < n; i++)
			if (enc[i] == 4 && i + 1 < n && enc[i + 1] == 6) {   /* the flags byte, before the IPv6 endpoint */
				enc[i] = 8;
				break;
			}
		assert_int_equal(mesh_msg_decode(MESH_PEER, enc, (size_t)n, &m, why, sizeof(why)), -EBADMSG);
		assert_non_null(strstr(why, "peer flags 0x08"));
	}
}

static void every_message_type_refuses_trailing_and_missing_bytes(void **state)
{
	static const uint8_t types[] = { MESH_REGISTER, MESH_REGISTERED, MESH_PEER, MESH_CONNECT, MESH_PUNCH,
					 MESH_PING,     MESH_PONG,       MESH_REFUSED, MESH_RESYNC, MESH_PROVE, MESH_GONE,
					 MESH_LOOKUP };
	uint8_t body[MESH_MAX_MSG + 1];
	char why[160];

	(void)state;
	for (size_t i = 0; i < sizeof(types); i++) {
		struct mesh_msg m = { .type = types[i] }, o;
		int n;
		m.counter = 77;
		if (types[i] == MESH_LOOKUP)
			m.u.lookup.family = 6;
		else
			strcpy(m.u.reg.name, "alice");
		n = mesh_msg_encode(&m, body, sizeof(body));
		assert_true(n >= 16);
		assert_int_equal(mesh_msg_decode(types[i], body, (size_t)n, &o, why, sizeof(why)), 0);
		body[n] = 0x55; /* (a REGISTER takes zeros after its end: its padding) */
		if (mesh_msg_decode(types[i], body, (size_t)n + 1, &o, why, sizeof(why)) != -EBADMSG)
			fail_msg("type %u took a trailing byte", types[i]);
		assert_non_null(strstr(why, "too many"));
		if (mesh_msg_decode(types[i], body, (size_t)n - 1, &o, why, sizeof(why)) != -EBADMSG)
			fail_msg("type %u took a body one byte short", types[i]);
	}
}

static void lookup_and_on_demand_round_trip_and_bad_ones_are_refused(void **state)
{
	struct mesh_msg m = { .type = MESH_LOOKUP }, o;
	uint8_t body[MESH_MAX_MSG];
	char why[160];
	int n;

	(void)state;
	m.u.lookup.family = 4;
	memcpy(m.u.lookup.addr, "\x0a\x40\x00\x07", 4);
	n = mesh_msg_encode(&m, body, sizeof(body));
	assert_int_equal(mesh_msg_decode(MESH_LOOKUP, body, (size_t)n, &o, why, sizeof(why)), 0);
	assert_int_equal(o.u.lookup.family, 4);
	assert_memory_equal(o.u.lookup.addr, m.u.lookup.addr, 16);
	m.u.lookup.addr[9] = 1;   /* bytes after an IPv4 address */
	n = mesh_msg_encode(&m, body, sizeof(body));
	assert_int_equal(mesh_msg_decode(MESH_LOOKUP, body, (size_t)n, &o, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "bytes after it"));
	m.u.lookup.family = 5;
	n = mesh_msg_encode(&m, body, sizeof(body));
	assert_int_equal(mesh_msg_decode(MESH_LOOKUP, body, (size_t)n, &o, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "family 5"));

	memset(&m, 0, sizeof(m));
	m.type = MESH_REGISTER;
	m.u.reg.on_demand = true;
	strcpy(m.u.reg.name, "many");
	n = mesh_msg_encode(&m, body, sizeof(body));
	assert_int_equal(mesh_msg_decode(MESH_REGISTER, body, (size_t)n, &o, why, sizeof(why)), 0);
	assert_true(o.u.reg.on_demand);
	assert_false(o.u.reg.has_join);
	body[16] |= 0x10;   /* a flag no one knows */
	assert_int_equal(mesh_msg_decode(MESH_REGISTER, body, (size_t)n, &o, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "flags 0x18"));
}

/* Session messages: what is sealed opens with the key, and nothing else
 * does: not the other direction's key, not a flipped bit anywhere, not a
 * byte less, not another version's. */
static void session_messages_open_with_their_key_and_nothing_else(void **state)
{
	uint8_t secret[MESH_SECRET_LEN], shared[32], sid[MESH_SID_LEN], out[MESH_MAX_MSG], copy[MESH_MAX_MSG];
	struct mesh_session_keys k;
	struct mesh_msg m = { .type = MESH_REGISTER }, o;
	const uint8_t *got_sid;
	char why[160];
	int n;

	(void)state;
	randombytes_buf(secret, sizeof(secret));
	randombytes_buf(shared, sizeof(shared));
	randombytes_buf(sid, sizeof(sid));
	mesh_session_keys(secret, shared, &k);
	assert_memory_not_equal(k.to_introducer, k.to_agent, 32);
	m.counter = 1234567;
	m.session = 99;
	strcpy(m.u.reg.name, "alice");
	n = mesh_session_seal(&m, sid, k.to_introducer, out, sizeof(out));
	assert_true(n > MESH_SESSION_OVERHEAD);
	assert_int_equal(mesh_session_sid(out, (size_t)n, &got_sid), 0);
	assert_memory_equal(got_sid, sid, MESH_SID_LEN);
	assert_int_equal(mesh_session_open(out, (size_t)n, k.to_introducer, &o, why, sizeof(why)), 0);
	assert_int_equal(o.type, MESH_REGISTER);
	assert_int_equal(o.counter, 1234567);
	assert_int_equal(o.session, 99);
	assert_string_equal(o.u.reg.name, "alice");
	assert_int_equal(mesh_session_open(out, (size_t)n, k.to_agent, &o, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "does not authenticate"));
	for (int i = 4; i < n; i++) {
		memcpy(copy, out, (size_t)n);
		copy[i] ^= 0x40;
		if (mesh_session_open(copy, (size_t)n, k.to_introducer, &o, why, sizeof(why)) != -EBADMSG)
			fail_msg("a flipped bit at byte %d went through", i);
	}
	assert_int_equal(mesh_session_open(out, (size_t)n - 1, k.to_introducer, &o, why, sizeof(why)), -EBADMSG);
	assert_int_equal(mesh_session_sid(out, 20, &got_sid), -EBADMSG);
	out[2] = MESH_VERSION - 1;
	assert_int_equal(mesh_session_sid(out, (size_t)n, &got_sid), -EBADMSG);
}

struct pieces {
	uint8_t p[MESH_FRAG_MAX_PIECES][MESH_FRAG_SAFE];
	size_t len[MESH_FRAG_MAX_PIECES];
	int n;
};

static int keep_piece(void *ctx, const uint8_t *frag, size_t n)
{
	struct pieces *ps = ctx;

	assert_true(n <= MESH_FRAG_SAFE);
	memcpy(ps->p[ps->n], frag, n);
	ps->len[ps->n++] = n;
	return 0;
}

/* A WireGuard packet in pieces (mesh/frag.h): each within 1232 bytes, put
 * back together in any order, once; a missing piece gives the packet up
 * after a second; pieces that disagree, or too many, are refused. */
static void packets_go_in_pieces_and_come_back_whole(void **state)
{
	static struct mesh_reasm r;
	static struct pieces ps;
	static uint8_t pkt[4000], out[MESH_FRAG_MAX];
	struct wg_endpoint a = ep("192.0.2.1:4000"), b = ep("192.0.2.2:4000");
	char why[80];

	(void)state;
	for (size_t i = 0; i < sizeof(pkt); i++)
		pkt[i] = (uint8_t)(i * 7);
	pkt[0] = 4;
	/* 1260 bytes (a 1228-byte inner packet): two pieces. */
	assert_int_equal(mesh_frag_split(pkt, 1260, 9, keep_piece, &ps), 2);
	assert_int_equal(ps.n, 2);
	/* The last first, a duplicate, then the first: whole once. */
	assert_int_equal(mesh_frag_take(&r, &a, ps.p[1], ps.len[1], 1000, out, sizeof(out), why, sizeof(why)), 0);
	assert_int_equal(mesh_frag_take(&r, &a, ps.p[1], ps.len[1], 1001, out, sizeof(out), why, sizeof(why)), 0);
	/* The same id from another sender is another packet. */
	assert_int_equal(mesh_frag_take(&r, &b, ps.p[0], ps.len[0], 1002, out, sizeof(out), why, sizeof(why)), 0);
	assert_int_equal(mesh_frag_take(&r, &a, ps.p[0], ps.len[0], 1003, out, sizeof(out), why, sizeof(why)), 1260);
	assert_memory_equal(out, pkt, 1260);
	assert_int_equal(mesh_frag_take(&r, &a, ps.p[0], ps.len[0], 1004, out, sizeof(out), why, sizeof(why)), 0);
	/* Another piece under a number already taken (someone else's, or
	 * forged): the packet is given up, not spoiled silently. */
	assert_int_equal(mesh_frag_take(&r, &a, ps.p[0], ps.len[0], 1005, out, sizeof(out), why, sizeof(why)), 0);
	ps.p[0][MESH_FRAG_HDR_LEN] ^= 1;
	assert_int_equal(mesh_frag_take(&r, &a, ps.p[0], ps.len[0], 1006, out, sizeof(out), why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "two different pieces"));
	ps.p[0][MESH_FRAG_HDR_LEN] ^= 1;
	assert_int_equal(mesh_frag_take(&r, &a, ps.p[1], ps.len[1], 1007, out, sizeof(out), why, sizeof(why)), 0);
	/* b's other piece comes too late: given up. */
	assert_int_equal(mesh_frag_take(&r, &b, ps.p[1], ps.len[1], 2500, out, sizeof(out), why, sizeof(why)), 0);
	assert_true(r.dropped >= 1);
	/* Pieces that disagree on their count; a short piece before the last. */
	assert_int_equal(mesh_frag_take(&r, &a, ps.p[0], ps.len[0], 3000, out, sizeof(out), why, sizeof(why)), 0);
	memcpy(ps.p[2], ps.p[0], ps.len[0]);
	ps.p[2][8] = 1, ps.p[2][9] = 3;
	assert_int_equal(mesh_frag_take(&r, &a, ps.p[2], ps.len[0], 3001, out, sizeof(out), why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "disagree"));
	ps.p[0][8] = 1, ps.p[0][9] = 3;
	assert_int_equal(mesh_frag_take(&r, &a, ps.p[0], 100, 3002, out, sizeof(out), why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "not full"));
	/* Too large for 8 pieces; a single piece is no fragment. */
	ps.n = 0;
	assert_int_equal(mesh_frag_split(pkt, MESH_FRAG_MAX + 1, 1, keep_piece, &ps), -EMSGSIZE);
	ps.p[1][8] = 0, ps.p[1][9] = 1;
	assert_int_equal(mesh_frag_take(&r, &a, ps.p[1], 50, 3003, out, sizeof(out), why, sizeof(why)), -EBADMSG);
	/* Nothing of ours is taken for a piece, and a piece is not a control message. */
	assert_true(mesh_is_message(ps.p[0], ps.len[0]));
	assert_false(wg_is_message(ps.p[0], ps.len[0]));
}

static void relay_carries_only_wireguard_and_shrinks_on_the_way_out(void **state)
{
	uint8_t pkt[148] = { 4 }, token[MESH_TOKEN_LEN] = { 9 }, frame[300], out[300];
	const uint8_t *t, *p;
	uint32_t to, from;
	size_t len;
	int n, m;

	(void)state;
	n = mesh_relay_build(frame, sizeof(frame), token, 7, pkt, sizeof(pkt));
	assert_int_equal(n, MESH_RELAY_HDR_LEN + (int)sizeof(pkt));
	assert_int_equal(mesh_relay_parse(frame, (size_t)n, &t, &to, &p, &len), 0);
	assert_int_equal(to, 7);
	assert_memory_equal(t, token, MESH_TOKEN_LEN);
	m = mesh_relayed_build(out, sizeof(out), 3, p, len);
	assert_true(m < n); /* never an amplifier */
	assert_int_equal(mesh_relayed_parse(out, (size_t)m, &from, &p, &len), 0);
	assert_int_equal(from, 3);
	assert_memory_equal(p, pkt, sizeof(pkt));
	pkt[0] = 9; /* not WireGuard */
	n = mesh_relay_build(frame, sizeof(frame), token, 7, pkt, sizeof(pkt));
	assert_int_equal(mesh_relay_parse(frame, (size_t)n, &t, &to, &p, &len), -EBADMSG);
	assert_int_equal(mesh_relay_build(frame, 20, token, 7, pkt, sizeof(pkt)), -EMSGSIZE);
}

static int frames;
static size_t frame_len[8];
static uint8_t frame_data[8][8];

static void on_frame(void *ctx, const uint8_t *msg, size_t len)
{
	(void)ctx;
	memcpy(frame_data[frames % 8], msg, len < 8 ? len : 8);
	frame_len[frames++ % 8] = len;
}

static void tcp_frames_arrive_whole_in_any_pieces(void **state)
{
	static struct mesh_stream s;
	uint8_t bytes[] = { 0, 3, 'a', 'b', 'c', 0, 1, 'z', 1, 0 };

	(void)state;
	for (size_t piece = 1; piece <= sizeof(bytes); piece++) {
		s.len = 0;
		frames = 0;
		for (size_t i = 0; i < 8; i += piece)
			assert_int_equal(mesh_stream_feed(&s, bytes + i, (i + piece <= 8 ? piece : 8 - i), on_frame, NULL), 0);
		assert_int_equal(frames, 2);
		assert_int_equal(frame_len[0], 3);
		assert_memory_equal(frame_data[0], "abc", 3);
		assert_int_equal(frame_len[1], 1);
		assert_memory_equal(frame_data[1], "z", 1);
	}
	s.len = 0;
	assert_int_equal(mesh_stream_feed(&s, (const uint8_t *)"\0\0", 2, on_frame, NULL), -EBADMSG);
}

static void keys_read_as_wireguard_tools_writes_them(void **state)
{
	/* RFC 7748 §6.1: Alice's private and public key. */
	static const char priv_b64[] = "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=";
	static const char pub_b64[] = "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=";
	uint8_t priv[32], pub[32];
	char out[45];

	(void)state;
	assert_int_equal(key_parse(priv_b64, priv), 0);
	key_public(pub, priv);
	key_format(pub, out);
	assert_string_equal(out, pub_b64);
	assert_int_equal(key_parse("dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LC=", priv), -EINVAL);
	assert_int_equal(key_parse("not a key", priv), -EINVAL);
	assert_int_equal(key_parse("dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo", priv), -EINVAL);
}

/* An agent stopped with SIGSTOP (a laptop asleep, a debugger) still has
 * its status socket listening: the question is taken and nothing comes.
 * `punchlab-agent status` (and the runner through it) must not hang: it
 * gives up after MESH_STATUS_TIMEOUT_S with -ETIMEDOUT. Seen to hang
 * before the timeout. */
static void a_status_socket_that_never_answers_times_out(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char name[32], buf[256];
	time_t t0;
	int fd, ret, held[8], n_held = 0;

	(void)state;
	if (mkdir(MESH_STATUS_DIR, 0755) && errno != EEXIST) {
		skip();   /* not root: the agents' folder cannot be made */
	}
	snprintf(name, sizeof(name), "pltest%d", (int)getpid());
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s.sock", MESH_STATUS_DIR, name);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	unlink(sa.sun_path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 1), 0);
	t0 = time(NULL);
	ret = mesh_status_ask(name, STATUS_JSON, buf, sizeof(buf));
	assert_int_equal(ret, -ETIMEDOUT);
	assert_true(time(NULL) - t0 <= MESH_STATUS_TIMEOUT_S + 1);
	assert_string_equal(buf, "");
	/* Asked again and again (a script polling it), the stopped agent's
	 * backlog fills: then connect itself waits, as long and no longer. */
	for (int i = 0; i < 8; i++) {
		struct sockaddr_un to = sa;
		int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		assert_true(c >= 0);
		if (connect(c, (struct sockaddr *)&to, sizeof(to)) == 0)
			held[n_held++] = c;
		else
			close(c);
	}
	t0 = time(NULL);
	ret = mesh_status_ask(name, STATUS_JSON, buf, sizeof(buf));
	assert_int_equal(ret, -ETIMEDOUT);
	assert_true(time(NULL) - t0 <= MESH_STATUS_TIMEOUT_S + 1);
	for (int i = 0; i < n_held; i++)
		close(held[i]);
	unlink(sa.sun_path);
	close(fd);
}

/* Issue 17: a COOKIE opens under the key of the introducer that made it,
 * for the REGISTER it answers, and nothing else, damaged in no byte, and
 * is smaller than any REGISTER;
 * COOKIED carries a REGISTER whose mac2 checks with that cookie only. */
static void cookies_open_for_their_introducer_and_prove_what_they_wrap(void **state)
{
	uint8_t ipriv[32], ipub[32], opriv[32], opub[32], key[32], other[32], cookie[MESH_COOKIE_LEN], got[MESH_COOKIE_LEN];
	uint8_t out[MESH_COOKIE_MSG_LEN + 8], reg[MESH_MAX_MSG + MESH_COOKIED_OVERHEAD], copy[sizeof(reg)], shared[32];
	uint8_t mac1[MESH_MAC1_LEN], mac1_other[MESH_MAC1_LEN];
	struct mesh_msg m = { .type = MESH_REGISTER };
	const uint8_t *inner;
	size_t inner_len;
	int n, r;

	(void)state;
	crypto_box_keypair(ipub, ipriv);
	crypto_box_keypair(opub, opriv);
	mesh_cookie_key(key, ipub);
	mesh_cookie_key(other, opub);
	randombytes_buf(cookie, sizeof(cookie));
	randombytes_buf(mac1, sizeof(mac1));
	memcpy(mac1_other, mac1, sizeof(mac1));
	mac1_other[15] ^= 0x80;
	assert_int_equal(mesh_cookie_build(out, MESH_COOKIE_MSG_LEN - 1, key, cookie, mac1), -EMSGSIZE);
	n = mesh_cookie_build(out, sizeof(out), key, cookie, mac1);
	assert_int_equal(n, MESH_COOKIE_MSG_LEN);
	assert_true(MESH_COOKIE_MSG_LEN < MESH_CONTROL_OVERHEAD);
	assert_int_equal(out[3], MESH_COOKIE);
	assert_memory_not_equal(out + MESH_HDR_LEN + MESH_COOKIE_NONCE_LEN, cookie, MESH_COOKIE_LEN);
	assert_int_equal(mesh_cookie_open(out, (size_t)n, key, mac1, got), 0);
	assert_memory_equal(got, cookie, MESH_COOKIE_LEN);
	assert_int_equal(mesh_cookie_open(out, (size_t)n, other, mac1, got), -EBADMSG);
	/* It answers one REGISTER: not another's. */
	assert_int_equal(mesh_cookie_open(out, (size_t)n, key, mac1_other, got), -EBADMSG);
	assert_int_equal(mesh_cookie_open(out, (size_t)n - 1, key, mac1, got), -EBADMSG);
	for (int i = 0; i < n; i++) {
		memcpy(copy, out, (size_t)n);
		copy[i] ^= 0x20;
		assert_int_equal(mesh_cookie_open(copy, (size_t)n, key, mac1, got), -EBADMSG);
	}
	/* A REGISTER, wrapped: its mac2 checks with the cookie only. */
	m.counter = 7;
	strcpy(m.u.reg.name, "alice");
	key_public(m.sender, opriv);
	assert_int_equal(mesh_shared_key(shared, ipub, opriv), 0);
	r = mesh_seal(&m, ipub, shared, reg, MESH_MAX_MSG);
	assert_true(r > 0);
	assert_true(MESH_COOKIE_MSG_LEN < (size_t)r);
	memcpy(copy, reg, (size_t)r);
	n = mesh_cookied_wrap(reg, sizeof(reg), reg, (size_t)r, cookie);
	assert_int_equal(n, r + MESH_COOKIED_OVERHEAD);
	assert_int_equal(mesh_cookied_inner(reg, (size_t)n, &inner, &inner_len), 0);
	assert_int_equal(inner_len, (size_t)r);
	assert_memory_equal(inner, copy, (size_t)r);
	assert_true(mesh_cookied_ok(reg, (size_t)n, cookie));
	got[0] = cookie[0] ^ 1;
	memcpy(got + 1, cookie + 1, MESH_COOKIE_LEN - 1);
	assert_false(mesh_cookied_ok(reg, (size_t)n, got));
	for (int i = 0; i < n; i++) {
		memcpy(copy, reg, (size_t)n);
		copy[i] ^= 0x01;
		assert_false(mesh_cookied_ok(copy, (size_t)n, cookie));
	}
	assert_int_equal(mesh_cookied_wrap(copy, (size_t)r + MESH_COOKIED_OVERHEAD - 1, reg, (size_t)r, cookie), -EMSGSIZE);
	/* Only a REGISTER of this version goes in one, and nothing short. */
	reg[MESH_HDR_LEN + 3] = MESH_CONNECT;
	assert_int_equal(mesh_cookied_inner(reg, (size_t)n, &inner, &inner_len), -EBADMSG);
	reg[MESH_HDR_LEN + 3] = MESH_REGISTER;
	reg[MESH_HDR_LEN + 2] = MESH_VERSION - 1;
	assert_int_equal(mesh_cookied_inner(reg, (size_t)n, &inner, &inner_len), -EBADMSG);
	reg[MESH_HDR_LEN + 2] = MESH_VERSION;
	assert_int_equal(mesh_cookied_inner(reg, MESH_COOKIED_OVERHEAD + MESH_CONTROL_OVERHEAD - 1, &inner, &inner_len),
			 -EBADMSG);
	assert_int_equal(mesh_cookied_inner(out, MESH_COOKIE_MSG_LEN, &inner, &inner_len), -EBADMSG);
}

/* A message sealed in two steps (the X25519s ahead) opens as one sealed in
 * one; the ephemeral key is used once. */
static void an_ephemeral_made_ahead_seals_once(void **state)
{
	uint8_t ipriv[32], ipub[32], apriv[32], shared[32], out[MESH_MAX_MSG], other[MESH_MAX_MSG];
	struct mesh_msg m = { .type = MESH_REGISTER }, o;
	struct mesh_eph e = { .ready = false };
	char why[160];
	int n;

	(void)state;
	crypto_box_keypair(ipub, ipriv);
	crypto_box_keypair(m.sender, apriv);
	assert_int_equal(mesh_shared_key(shared, ipub, apriv), 0);
	m.counter = 9;
	strcpy(m.u.reg.name, "alice");
	assert_int_equal(mesh_seal_with(&m, ipub, shared, &e, out, sizeof(out)), -EINVAL);
	assert_int_equal(mesh_seal_ahead(&e, ipub), 0);
	n = mesh_seal_with(&m, ipub, shared, &e, out, sizeof(out));
	assert_true(n > MESH_CONTROL_OVERHEAD);
	assert_int_equal(mesh_receive(out, (size_t)n, ipriv, shared, &o, why, sizeof(why)), 0);
	assert_string_equal(o.u.reg.name, "alice");
	assert_memory_equal(o.sender, m.sender, 32);
	assert_int_equal(mesh_seal_with(&m, ipub, shared, &e, other, sizeof(other)), -EINVAL);
	assert_false(e.ready);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_message_type_survives_seal_and_open),
		cmocka_unit_test(cookies_open_for_their_introducer_and_prove_what_they_wrap),
		cmocka_unit_test(an_ephemeral_made_ahead_seals_once),
		cmocka_unit_test(forged_or_damaged_messages_do_not_open),
		cmocka_unit_test(a_reflected_message_does_not_open),
		cmocka_unit_test(a_sealed_message_names_no_one),
		cmocka_unit_test(another_version_is_refused_by_name),
		cmocka_unit_test(malformed_bodies_are_refused_with_a_reason),
		cmocka_unit_test(every_message_type_refuses_trailing_and_missing_bytes),
		cmocka_unit_test(lookup_and_on_demand_round_trip_and_bad_ones_are_refused),
		cmocka_unit_test(session_messages_open_with_their_key_and_nothing_else),
		cmocka_unit_test(packets_go_in_pieces_and_come_back_whole),
		cmocka_unit_test(relay_carries_only_wireguard_and_shrinks_on_the_way_out),
		cmocka_unit_test(tcp_frames_arrive_whole_in_any_pieces),
		cmocka_unit_test(keys_read_as_wireguard_tools_writes_them),
		cmocka_unit_test(a_status_socket_that_never_answers_times_out),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
