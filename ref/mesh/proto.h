/* The mesh's control protocol: what agents and the introducer say to each
 * other, on the same UDP socket as WireGuard (and over TCP, framed, where
 * UDP is blocked). Every control message is sealed between the sender's
 * and the receiver's WireGuard keys, so it is authenticated both ways;
 * relay frames carry WireGuard packets, which protect
 * themselves, behind a session token.
 *
 * Version 5: as 4, and an agent registers over IPv6 too, with the
 * introducer's IPv6 address (a REGISTERED "via" 3), and a member's record
 * may carry where that address saw it (its IPv6 reflexive endpoint).
 * Version 4: as 3, and a REGISTER and a member's record may carry the
 * port mapping the member's router granted (its endpoint and protocol).
 * Version 3: nothing on the wire names the sender. Each control message
 * has a new ephemeral key E; the sender's static key travels sealed under
 * the DH of E and the receiver's key, and the body under a key that also
 * mixes in the pair's static-static DH (Noise's X pattern, one way): only
 * the receiver opens it, only the sender's key holder can have sealed it,
 * and every header byte is bound in. Last comes a MAC keyed by the
 * receiver's public key (WireGuard's mac1), the cheap check made before
 * the X25519 a message costs its receiver. What an observer still sees:
 * the magic, version and type bytes, sizes, addresses and times; relay
 * frames' session token (8 bytes, new each registration session) and ids.
 *
 * On the wire (all integers big-endian):
 *   control: 'P' 'L' VERSION TYPE | E (32) | sealed static (32 + 16) |
 *            sealed body (counter (8) + session (8) + the type's body, + 16) |
 *            mac1 (16)
 *   cookie:  'P' 'L' VERSION COOKIE | nonce (24) | sealed cookie (16 + 16)
 *   cookied: 'P' 'L' VERSION COOKIED | a control message | mac2 (16)
 *   relay:   'P' 'L' VERSION RELAY | token (8) | to (4) | WireGuard packet
 *   relayed: 'P' 'L' VERSION RELAYED | from (4) | WireGuard packet
 * The first byte is never 1-4, so nothing here is mistaken for WireGuard. */
#ifndef PL_MESH_PROTO_H
#define PL_MESH_PROTO_H

#include "../wg/wg.h"
#include "counter.h"
#include "../../lib/util/key.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MESH_VERSION 6
#define MESH_HDR_LEN 4
#define MESH_EPH_LEN 32
#define MESH_MAC_LEN 16
#define MESH_MAC1_LEN 16
#define MESH_STATIC_BOX_LEN (WG_KEY_LEN + MESH_MAC_LEN)
#define MESH_CONTROL_OVERHEAD (MESH_HDR_LEN + MESH_EPH_LEN + MESH_STATIC_BOX_LEN + MESH_MAC_LEN + MESH_MAC1_LEN)
#define MESH_TOKEN_LEN 8
#define MESH_PROOF_LEN 16
#define MESH_RELAY_HDR_LEN (MESH_HDR_LEN + MESH_TOKEN_LEN + 4)
#define MESH_RELAYED_HDR_LEN (MESH_HDR_LEN + 4)
#define MESH_MAX_CANDS 8
#define MESH_SID_LEN 8
#define MESH_SECRET_LEN 32
/* A session message: header, session id, counter, then the sealed type and body. */
#define MESH_SESSION_HDR_LEN (MESH_HDR_LEN + MESH_SID_LEN + 8)
#define MESH_SESSION_OVERHEAD (MESH_SESSION_HDR_LEN + 1 + MESH_MAC_LEN)
/* Where a message reached the introducer: its two IPv4 addresses (0, 1),
 * TCP, its IPv6 address. */
#define MESH_VIA_TCP 2
#define MESH_VIA_UDP6 3
#define MESH_VIAS 4
#define MESH_NAME_LEN 31
#define MESH_REGISTER_MIN_BODY 48   /* a REGISTER's body is padded with zeros to this */
#define MESH_MAX_MSG 1400      /* a sealed control message always fits one datagram */
#define MESH_MAX_PROBE 9100    /* but a PING may be padded to this: a path MTU probe (mtu 9000 + 32) */
#define MESH_TCP_MAX 65535     /* a TCP frame: 2-byte length, then a message */
/* The introducer sends each member the whole member list at least this
 * often (between, only changes); agents forget a peer not listed for
 * longer than a couple of these. */
#define MESH_LIST_REFRESH_MS 60000

enum mesh_type {
	MESH_REGISTER = 1,   /* agent -> introducer: who I am, my local candidates */
	MESH_REGISTERED,     /* introducer -> agent: where you are seen from, your mesh addresses */
	MESH_PEER,           /* introducer -> agent: one member of the mesh */
	MESH_CONNECT,        /* agent -> introducer: I want a direct path to peer ID */
	MESH_PUNCH,          /* introducer -> both agents: punch now, toward this peer */
	MESH_PING,           /* agent -> agent: a path check */
	MESH_PONG,           /* agent -> agent: its answer */
	MESH_REFUSED,        /* introducer -> agent: not a member (never larger than what it answers) */
	MESH_RESYNC,         /* either way: I hold your counters up to this one (you restarted): continue above */
	MESH_PROVE,          /* introducer -> agent: register again from here with this proof (never larger than what it answers) */
	MESH_GONE,           /* introducer -> agent: this member has left (expired, or taken off the allowlist) */
	MESH_LOOKUP,         /* agent -> introducer: send me (PEER) the member at this mesh address */
	MESH_RELAY = 16,     /* agent -> introducer: carry this WireGuard packet to peer ID */
	MESH_RELAYED,        /* introducer -> agent: a WireGuard packet from peer ID */
	MESH_FRAG,           /* agent -> agent: a piece of a WireGuard packet (frag.h) */
	MESH_SESSION,        /* agent <-> introducer: a control message under the session's keys (no X25519) */
	MESH_COOKIE,         /* introducer -> agent: over budget; send it again with this address's cookie (no X25519) */
	MESH_COOKIED,        /* agent -> introducer: a REGISTER in full, with a MAC keyed by the cookie (mac2) */
};

enum mesh_refusal {
	MESH_REFUSED_NOT_MEMBER = 1,   /* key not in the allowlist and no (valid) join secret */
	MESH_REFUSED_POOL_FULL,        /* no mesh address left */
};

/* What a peer is, as the introducer tells it. */
struct mesh_peer_rec {
	uint32_t id;
	uint8_t key[WG_KEY_LEN];
	char name[MESH_NAME_LEN + 1];
	uint32_t mesh4;                   /* network order */
	uint8_t mesh6[16];
	struct wg_endpoint seen[2];       /* as seen from introducer address 0 and 1 (family 0: not yet) */
	struct wg_endpoint seen6;         /* as seen from the introducer's IPv6 address (family 0: not, or none) */
	uint8_t n_cands;
	struct wg_endpoint cands[MESH_MAX_CANDS];   /* its local addresses */
	bool tcp_only;                    /* reaches the introducer over TCP only */
	/* A port its router mapped on request (family 0: none), and by what:
	 * a NAT_PORTMAP_* bit (lib/nat/model.h). The introducer passes on only
	 * one on the address it sees the member from. */
	struct wg_endpoint mapped;
	uint8_t mapped_by;
};

struct mesh_msg {
	uint8_t type;
	uint8_t sender[WG_KEY_LEN];
	uint64_t counter;     /* per sender, strictly new (replay window) */
	/* The agent's session (random per process): an agent's messages to the
	 * introducer carry its own, and the introducer's to an agent the one
	 * it last registered with, so nothing the introducer said to an
	 * earlier process of that agent is taken by this one (issue 13 #9).
	 * Between agents: 0. */
	uint64_t session;
	union {
		struct {
			bool has_join;
			uint8_t join[32];             /* BLAKE2s of the join secret */
			bool has_proof;
			uint8_t proof[MESH_PROOF_LEN];  /* from a PROVE: this address is ours */
			char name[MESH_NAME_LEN + 1];
			uint8_t ttl;                  /* the TTL this copy was sent with (echoed) */
			uint8_t n_cands;
			struct wg_endpoint cands[MESH_MAX_CANDS];
			struct wg_endpoint mapped;    /* a port our router mapped (family 0: none) */
			uint8_t mapped_by;            /* NAT_PORTMAP_UPNP, _NATPMP or _PCP */
			/* Send me no member list and no changes: I ask (LOOKUP) for
			 * the peers I want, and learn of those who want me from
			 * PUNCH (a mesh of thousands). */
			bool on_demand;
		} reg;
		struct {
			struct wg_endpoint seen;      /* the sender's address as this introducer address saw it */
			uint8_t via;                  /* which introducer address (0, 1; MESH_VIA_TCP, MESH_VIA_UDP6) */
			uint8_t ttl;                  /* echo of reg.ttl */
			uint32_t id;
			uint32_t mesh4;
			uint8_t plen4;
			uint8_t mesh6[16];
			uint8_t plen6;
			uint8_t token[MESH_TOKEN_LEN];
			uint16_t n_peers;             /* members besides you */
			/* The keys of this session of yours (mesh_session_keys):
			 * what you send now may go as session messages under sid. */
			uint8_t sid[MESH_SID_LEN];
			uint8_t secret[MESH_SECRET_LEN];
			char name[MESH_NAME_LEN + 1]; /* your name in the mesh (the allowlist's, or yours) */
		} regd;
		struct mesh_peer_rec peer;        /* PEER */
		struct {
			uint32_t id;
		} connect;
		struct {
			uint32_t round;
			struct mesh_peer_rec peer;
		} punch;
		struct {
			uint64_t txid;
			struct wg_endpoint addr;      /* ping: where it was sent; pong: where the ping came from */
			uint16_t pad;                 /* ping: zeros after it (a path MTU probe) */
			uint16_t size;                /* pong: the bytes of the ping it answers, as they came */
		} ping;                           /* PING and PONG */
		struct {
			uint8_t reason;
		} refused;
		struct {
			uint64_t newest;              /* the newest counter of yours the sender holds */
		} resync;
		struct {
			uint8_t proof[MESH_PROOF_LEN];
			uint8_t ttl;                  /* echo of the REGISTER's reg.ttl */
		} prove;
		struct {
			uint32_t id;
			uint8_t key[WG_KEY_LEN];
		} gone;
		struct {
			uint8_t family;               /* 4 or 6 */
			uint8_t addr[16];             /* IPv4: the first 4 bytes, zeros after */
		} lookup;
	} u;
};

/* Is this datagram one of ours (control or relay), of any version? */
bool mesh_is_message(const uint8_t *buf, size_t len);
/* The body of a control message, in plaintext (the part after the MAC).
 * Returns its length, or a negative errno if cap is too small. */
int mesh_msg_encode(const struct mesh_msg *m, uint8_t *out, size_t cap);
/* Parse a plaintext body of the given type into m (type and counter set
 * too). -EBADMSG (with why) on anything malformed. */
int mesh_msg_decode(uint8_t type, const uint8_t *in, size_t len, struct mesh_msg *m, char *why, size_t whylen);

/* The key two parties' static keys share: X25519 of one's private and
 * the other's public key, hashed (crypto_box_beforenm). Computed once per
 * pair and kept. -EINVAL for a weak public key. */
int mesh_shared_key(uint8_t out[static 32], const uint8_t their_pub[static WG_KEY_LEN],
		    const uint8_t my_priv[static WG_KEY_LEN]);
/* Seal m (type, sender = our public key, counter set by the caller) for
 * the receiver to_pub, with the pair's shared key. Costs two X25519s (the
 * ephemeral key and its DH). Returns the datagram's length or a negative
 * errno. */
int mesh_seal(const struct mesh_msg *m, const uint8_t to_pub[static WG_KEY_LEN], const uint8_t shared[static 32],
	      uint8_t *out, size_t cap);
/* The same in two steps, for a sender that does the X25519s ahead (a load
 * generator): _ahead makes a new ephemeral key and its DH with to_pub
 * (-EINVAL for a weak key); _with seals m with them, once: it wipes e,
 * and refuses one not made ready. Zero a struct mesh_eph before use, and
 * never copy one: two messages under one ephemeral share their keys and
 * nonce. */
struct mesh_eph {
	uint8_t pub[MESH_EPH_LEN];
	uint8_t dh[32];
	bool ready;
};
int mesh_seal_ahead(struct mesh_eph *e, const uint8_t to_pub[static WG_KEY_LEN]);
int mesh_seal_with(const struct mesh_msg *m, const uint8_t to_pub[static WG_KEY_LEN], const uint8_t shared[static 32],
		   struct mesh_eph *e, uint8_t *out, size_t cap);

/* Receiving takes three steps, cheapest first. */
/* 1. Version, shape and the MAC keyed by our public key (mesh_mac1_key):
 * -EPROTO for another protocol version, -EBADMSG for what is not a
 * control message, -EACCES for a MAC that does not check (a stranger who
 * does not know our key). Sets *type. A hash, no X25519. */
int mesh_check(const uint8_t *buf, size_t len, const uint8_t mac1_key[static 32], uint8_t *type);
/* 2. Who sent it: one X25519 with our private key opens the sender's key
 * (-EBADMSG if it does not open). */
struct mesh_env {
	uint8_t type;
	uint8_t sender[WG_KEY_LEN];
	uint8_t ck[32];     /* the message's chaining key: zero it after use */
};
int mesh_unwrap(const uint8_t *buf, size_t len, const uint8_t my_priv[static WG_KEY_LEN],
		const uint8_t my_pub[static WG_KEY_LEN], struct mesh_env *env);
/* 3. Open the body with the shared key of that sender: -EBADMSG (with
 * why) when it is forged, damaged or malformed. */
int mesh_open(const uint8_t *buf, size_t len, const struct mesh_env *env, const uint8_t shared[static 32],
	      struct mesh_msg *m, char *why, size_t whylen);
/* All three, for a receiver that holds the shared key of the sender it
 * expects (tests, tools); m->sender says who it was. -EPROTO (why names
 * both versions) for another protocol version. */
int mesh_receive(const uint8_t *buf, size_t len, const uint8_t my_priv[static WG_KEY_LEN],
		 const uint8_t shared[static 32], struct mesh_msg *m, char *why, size_t whylen);

/* Every control message ends with a MAC of the rest keyed by the
 * receiver's public key (WireGuard's mac1, paper 5.4.4): a receiver checks
 * it before the X25519 the message costs, so a flood from anyone who does
 * not know its key costs a hash each (issue 13 #7). */
void mesh_mac1_key(uint8_t key[static 32], const uint8_t to_pub[static WG_KEY_LEN]);
/* Append the MAC of buf[0..len) at buf + len (cap must allow it); the new length. */
size_t mesh_mac1_put(uint8_t *buf, size_t len, const uint8_t key[static 32]);
/* Do the last MESH_MAC1_LEN bytes of buf MAC the rest? */
bool mesh_mac1_ok(const uint8_t *buf, size_t len, const uint8_t key[static 32]);

/* Session messages (issue 17): once the introducer has sent an agent's
 * session a sid and a secret (in REGISTERED, sealed as every control
 * message is), either side may send the other any control message under
 * keys from the secret and their static-static key, one for each way,
 * with the sender's counter as the nonce: no X25519 per message, and a
 * message of the session is found by its sid. The header (sid, counter)
 * is the AEAD's associated data. */
struct mesh_session_keys {
	uint8_t to_introducer[32];
	uint8_t to_agent[32];
};
void mesh_session_keys(const uint8_t secret[static MESH_SECRET_LEN], const uint8_t shared[static 32],
		       struct mesh_session_keys *k);
/* Seal m (its type, counter and session set) under key with sid: the
 * length, or a negative errno. */
int mesh_session_seal(const struct mesh_msg *m, const uint8_t sid[static MESH_SID_LEN], const uint8_t key[static 32],
		      uint8_t *out, size_t cap);
/* A session message's sid (pointing into buf), or -EBADMSG for bytes
 * that are not one of this version. */
int mesh_session_sid(const uint8_t *buf, size_t len, const uint8_t **sid);
/* Open it with key into m (m->sender untouched): -EBADMSG with why when it
 * is forged, damaged or malformed (its body's counter must be the
 * header's). */
int mesh_session_open(const uint8_t *buf, size_t len, const uint8_t key[static 32], struct mesh_msg *m, char *why,
		      size_t whylen);

/* Cookies (issue 17; WireGuard's cookie reply, paper 5.4.7). When the
 * X25519s of strangers' messages are over their budget, the introducer
 * answers a REGISTER in full with a COOKIE instead of dropping it: a MAC
 * of the address and port it came from under a secret that changes every
 * two minutes, sealed (XChaCha20-Poly1305, a random nonce) under a key
 * from the introducer's public key, so it is read by whoever knows that
 * key and received at that address. Making it costs a hash and an AEAD,
 * and it is smaller than any REGISTER; it is bound to the mac1 of the
 * REGISTER it answers (a sender keeps those of its last few), so no one
 * off the path makes one it takes. The agent sends its REGISTER again
 * wrapped in COOKIED, ending with a MAC keyed by the cookie (mac2): one
 * that checks proves its source address before any X25519, as a PROVE's
 * proof does after one, and is charged to the budget of proven sources. */
#define MESH_COOKIE_LEN 16
#define MESH_COOKIE_NONCE_LEN 24
#define MESH_COOKIE_MSG_LEN (MESH_HDR_LEN + MESH_COOKIE_NONCE_LEN + MESH_COOKIE_LEN + MESH_MAC_LEN)
#define MESH_MAC2_LEN 16
_Static_assert(MESH_MAC2_LEN == MESH_MAC1_LEN, "mac1 and mac2 are checked alike");
#define MESH_COOKIED_OVERHEAD (MESH_HDR_LEN + MESH_MAC2_LEN)
/* An agent puts the cookie in its REGISTER's proof too (sealed: bound to its key). */
_Static_assert(MESH_COOKIE_LEN == MESH_PROOF_LEN, "a cookie goes in a REGISTER's proof field");
/* The key COOKIEs of the introducer whose public key is intro_pub are sealed under. */
void mesh_cookie_key(uint8_t key[static 32], const uint8_t intro_pub[static WG_KEY_LEN]);
/* A COOKIE carrying cookie, sealed under key and bound to the mac1 (the
 * last MESH_MAC1_LEN bytes) of the REGISTER it answers, as WireGuard's:
 * only one who saw that REGISTER makes one its sender takes.
 * MESH_COOKIE_MSG_LEN, or -EMSGSIZE. */
int mesh_cookie_build(uint8_t *out, size_t cap, const uint8_t key[static 32], const uint8_t cookie[static MESH_COOKIE_LEN],
		      const uint8_t mac1[static MESH_MAC1_LEN]);
/* Open a COOKIE answering a REGISTER whose mac1 is mac1: 0 with *cookie
 * set, -EBADMSG for anything else (not one, forged, damaged, another's). */
int mesh_cookie_open(const uint8_t *buf, size_t len, const uint8_t key[static 32], const uint8_t mac1[static MESH_MAC1_LEN],
		     uint8_t cookie[static MESH_COOKIE_LEN]);
/* Wrap the control message msg in COOKIED with mac2 keyed by cookie: the
 * length (len + MESH_COOKIED_OVERHEAD), or -EMSGSIZE. */
int mesh_cookied_wrap(uint8_t *out, size_t cap, const uint8_t *msg, size_t len, const uint8_t cookie[static MESH_COOKIE_LEN]);
/* The control message inside a COOKIED (pointing into buf), or -EBADMSG
 * when buf is not one of this version around a REGISTER. Checks the
 * shape only: mesh_cookied_ok says whether its mac2 is keyed by cookie. */
int mesh_cookied_inner(const uint8_t *buf, size_t len, const uint8_t **msg, size_t *msglen);
bool mesh_cookied_ok(const uint8_t *buf, size_t len, const uint8_t cookie[static MESH_COOKIE_LEN]);

/* Relay frames. _build returns the frame's length (header + packet) or
 * -EMSGSIZE; _parse points *pkt into buf, -EBADMSG if malformed. */
int mesh_relay_build(uint8_t *out, size_t cap, const uint8_t token[static MESH_TOKEN_LEN], uint32_t to,
		     const uint8_t *pkt, size_t len);
int mesh_relay_parse(const uint8_t *buf, size_t len, const uint8_t **token, uint32_t *to, const uint8_t **pkt,
		     size_t *pktlen);
int mesh_relayed_build(uint8_t *out, size_t cap, uint32_t from, const uint8_t *pkt, size_t len);
int mesh_relayed_parse(const uint8_t *buf, size_t len, uint32_t *from, const uint8_t **pkt, size_t *pktlen);


#endif
