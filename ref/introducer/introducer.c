/* The introducer's core: registration, the member list, punching rounds
 * and the relay, driven by what introducer_receive and the connection
 * calls hand it; everything it sends goes through its io. */
#include "introducer.h"
#include "members.h"
#include "../mesh/pool.h"
#include "../mesh/recent.h"
#include "../mesh/stream.h"
#include "../../lib/util/bucket.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CONNS INTRODUCER_MAX_CONNS
#define MEMBER_EXPIRE_MS 60000
#define LOG_EVERY_MS 10000

/* The whole member list goes to a member when its session starts (the
 * first REGISTER of a new session, on whichever address or connection
 * heard it), and
 * again every MESH_LIST_REFRESH_MS in case a message of it was lost; in
 * between, only changes: a member that joins or changes is sent to the
 * others, one that leaves is announced (GONE). Agents forget a peer not
 * listed for a few refreshes (issue 13 #4: no N^2 lists every 10 s).
 * A member that registers "on demand" gets neither list nor changes: it
 * asks for the member at a mesh address (LOOKUP) when it has a packet for
 * it, and learns of one that wants it from the PUNCH; a mesh of thousands
 * costs no one a list of thousands (issue 17). It is told of a member gone
 * only when the configuration took it out (an expired one no longer
 * answers its lookups). */

/* TCP connections are few (INTRODUCER_MAX_CONNS) and for members on
 * networks that drop UDP: one must register within CONN_AUTH_MS and stay
 * active (members register every 10 s), one address holds at most
 * CONN_PER_ADDRESS, and when all are taken the oldest one that never
 * registered makes room (issue 13 #8). */
#define CONN_AUTH_MS 10000
#define CONN_IDLE_MS 60000
#define CONN_PER_ADDRESS 8

struct conn {
	struct wg_endpoint from;
	struct member *member;     /* the member registered over it, or NULL */
	uint64_t opened_ms, last_ms;
	bool closing;              /* failed while its bytes were being read: closed after */
	struct mesh_stream in;
};

/* Per source address, a bucket (join attempts; X25519s for unknown keys).
 * Join attempts (an unknown key with a join secret): a burst of
 * JOIN_BURST, then one per JOIN_EVERY_MS, so the secret cannot be guessed
 * online at any speed (issue 13 #14). */
#define JOIN_SLOTS 64
#define JOIN_BURST 5
#define JOIN_EVERY_MS 10000
#define JOIN_ALL_BURST 256         /* join attempts from anywhere at once (a join is two), */
#define JOIN_ALL_PER_S 4           /* then these a second */
#define JOIN_OK_BURST 10000        /* joins with the right secret at once (peers on demand), */
#define JOIN_OK_PER_S 5000         /* then these a second; */
#define JOIN_LIST_BURST 2000       /* those that take the member list (sealed in full */
#define JOIN_LIST_PER_S 500        /* for each: a join costs twice the members' X25519s) */
#define SHARED_CACHE 64            /* unknown keys' shared keys kept (an agent's first contact sends several) */
struct shared_cache {
	uint8_t key[WG_KEY_LEN];
	uint8_t shared[32];
	uint64_t at_ms;            /* 0: empty */
};

/* Refusals are logged once per key per LOG_EVERY_MS, and at most
 * REFUSAL_LOGS of them in all per LOG_EVERY_MS (fresh keys are free). */
#define REFUSAL_LOGS 10
struct refusal {
	uint8_t key[WG_KEY_LEN];
	uint64_t at_ms;
};

#define PLACES 256
struct place {
	struct wg_endpoint ep;
	bool admitted;             /* the PROVE went to a listed key or a member (not a join claim) */
	struct bucket b;
	uint64_t at_ms;            /* when a message from it last opened (0: free) */
};

struct introducer {
	struct introducer_conf conf;
	struct introducer_io io;
	uint8_t pub[WG_KEY_LEN];
	struct conn *conns[MAX_CONNS];
	struct member_table members;
	uint32_t next_id, round;
	struct mesh_counter counter; /* of the control messages we send */
	struct refusal refused[16];
	int refusal_logs, refusals_unlogged;  /* in the current LOG_EVERY_MS */
	uint64_t refusal_window_ms;
	int join_logs, joins_unlogged;        /* the same for joins */
	uint64_t join_window_ms;
	struct bucket_slot joins[JOIN_SLOTS];
	struct bucket joins_all;                  /* join attempts from anywhere */
	struct bucket joins_ok;                   /* joins with the right secret */
	struct bucket joins_list;                 /* those of them that take the member list */
	uint64_t joins_limited;    /* join attempts not heard: over their address's limit */
	uint8_t mac1_key[32];
	uint8_t proof_secret[32];  /* PROVE's MAC key, new each start */
	struct bucket_slot unknown[JOIN_SLOTS];   /* X25519s for unknown keys, per source address */
	struct bucket x25519;      /* X25519s for unknown keys, in all */
	struct bucket_slot proven[JOIN_SLOTS];    /* the same for messages with a cookie (COOKIED) */
	struct bucket x25519_proven;
	struct bucket cookies;     /* COOKIEs sent */
	struct bucket_slot cookie_dst[JOIN_SLOTS];  /* the same per address they go to */
	uint8_t cookie_secret[2][32];  /* this period's, the one before */
	uint64_t cookie_period;    /* which period cookie_secret[0] is for (0: none yet) */
	uint8_t cookie_key[32];    /* what our COOKIEs are sealed under */
	struct introducer_stats stats, stats_logged;
	struct shared_cache shared_cache[SHARED_CACHE];
	struct place places[PLACES];
	struct mesh_recent recent;
	uint64_t stats_log_ms;
	uint64_t join_log_ms;
	uint64_t forged_log_ms, version_log_ms;
	uint64_t last_expire_ms;
	/* Where the message being handled came from. */
	int cur_via;               /* 0, 1: UDP address; MESH_VIA_TCP; MESH_VIA_UDP6 */
	int cur_conn;
	int reading_conn;          /* the connection whose frames are being read, or -1 */
	struct wg_endpoint cur_from;
	uint64_t cur_now;
	bool cur_session;          /* it came as a session message */
	bool cur_proven;           /* it came with a cookie of its source address's (COOKIED) */
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Did the message being handled come over UDP (either family)? */
static bool over_udp(const struct introducer *in)
{
	return in->cur_via != MESH_VIA_TCP;
}

/* A member reached over IPv6 alone (an IPv6-only host): no IPv4 address
 * of ours and no TCP connection has heard it. */
static bool ipv6_only(const struct member *m)
{
	return !m->rec.seen[0].addr.ss_family && !m->rec.seen[1].addr.ss_family && m->conn < 0 &&
	       m->rec.seen6.addr.ss_family == AF_INET6;
}

/* Did the message being handled come from where IPv6-only member m
 * registered (our IPv6 address, its seen6)? */
static bool ipv6_only_here(const struct introducer *in, const struct member *m)
{
	return in->cur_via == MESH_VIA_UDP6 && ipv6_only(m) && wg_endpoint_equal(&m->rec.seen6, &in->cur_from);
}

/* The index that finds a member by where it was seen from on our UDP
 * address via, and that endpoint (NULL: TCP). */
static enum member_index seen_index(int via)
{
	return via == MESH_VIA_UDP6 ? BY_SEEN6 : via == 1 ? BY_SEEN1 : BY_SEEN0;
}

static struct wg_endpoint *seen_at(struct member *m, int via)
{
	return via == MESH_VIA_TCP ? NULL : members_seen_ep(m, seen_index(via));
}

static void say(const char *fmt, ...)
{
	va_list ap;

	fputs("punchlab-introducer: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const char *keystr(const uint8_t key[static WG_KEY_LEN])
{
	static char buf[2][45];
	static int k;

	k ^= 1;
	key_format(key, buf[k]);
	return buf[k];
}

static const char *epstr(const struct wg_endpoint *ep)
{
	static char buf[2][64];
	static int k;

	k ^= 1;
	wg_endpoint_format(ep, buf[k], sizeof(buf[k]));
	return buf[k];
}

/* Where the message being handled came from, for the log. */
static const char *cur_from_str(const struct introducer *in)
{
	return over_udp(in) ? epstr(&in->cur_from) : "TCP";
}

struct introducer *introducer_new(const struct introducer_conf *conf, const struct introducer_io *io, char *err,
				  size_t errlen)
{
	struct introducer *in = calloc(1, sizeof(*in));

	if (!in) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	in->conf = *conf;
	in->io = *io;
	in->next_id = 1;
	in->reading_conn = -1;
	if (members_init(&in->members, INTRODUCER_MAX_MEMBERS)) {
		snprintf(err, errlen, "out of memory for %d members", INTRODUCER_MAX_MEMBERS);
		free(in);
		return NULL;
	}
	key_public(in->pub, conf->private_key);
	mesh_mac1_key(in->mac1_key, in->pub);
	mesh_cookie_key(in->cookie_key, in->pub);
	randombytes_buf(in->proof_secret, sizeof(in->proof_secret));
	return in;
}

static void conn_close(struct introducer *in, int c)
{
	struct conn *k = in->conns[c];

	if (!k)
		return;
	/* Its frame reader still holds it: end it when the reader is done,
	 * and hand it nothing more meanwhile. */
	if (c == in->reading_conn) {
		k->closing = true;
		return;
	}
	if (k->member && k->member->conn == c)
		k->member->conn = -1;
	free(k);
	in->conns[c] = NULL;
	in->io.close_tcp(in->io.ctx, c);
}

void introducer_free(struct introducer *in)
{
	if (!in)
		return;
	for (int c = 0; c < MAX_CONNS; c++)
		conn_close(in, c);
	sodium_memzero(in->conf.private_key, sizeof(in->conf.private_key));
	members_free(&in->members);
	sodium_memzero(in->shared_cache, sizeof(in->shared_cache));
	sodium_memzero(in->proof_secret, sizeof(in->proof_secret));
	sodium_memzero(in->cookie_secret, sizeof(in->cookie_secret));
	free(in);
}

int introducer_members(const struct introducer *in)
{
	return in->members.n;
}

const uint8_t *introducer_public_key(const struct introducer *in)
{
	return in->pub;
}

/* Send a datagram to a member: over its TCP connection if it has one,
 * else from the address it registered with. */
static bool conn_open(const struct introducer *in, int c)
{
	return c >= 0 && c < MAX_CONNS && in->conns[c] && !in->conns[c]->closing;
}

static void send_to_member(struct introducer *in, struct member *m, const uint8_t *buf, size_t len)
{
	if (m->conn >= 0 && in->conns[m->conn]) {
		if (in->conns[m->conn]->closing)
			return;
		if (in->io.send_tcp(in->io.ctx, m->conn, buf, len) == -EPIPE)
			conn_close(in, m->conn);
		return;
	}
	for (int v = 0; v < 2; v++)
		if (m->rec.seen[v].addr.ss_family && v < in->conf.n_listen) {
			in->io.send_udp(in->io.ctx, v, &m->rec.seen[v], buf, len);
			return;
		}
	if (ipv6_only(m))
		in->io.send_udp(in->io.ctx, MESH_VIA_UDP6, &m->rec.seen6, buf, len);
}

/* Answer where the current message came from (same socket or connection). */
static void reply(struct introducer *in, const uint8_t *buf, size_t len)
{
	if (in->cur_via == MESH_VIA_TCP) {
		if (conn_open(in, in->cur_conn) && in->io.send_tcp(in->io.ctx, in->cur_conn, buf, len) == -EPIPE)
			conn_close(in, in->cur_conn);
		return;
	}
	in->io.send_udp(in->io.ctx, in->cur_via, &in->cur_from, buf, len);
}

/* Seal m for a member's session (or, answering a REGISTER or a stale
 * message, the session it named). */
static int seal_for(struct introducer *in, struct mesh_msg *m, const uint8_t to[static WG_KEY_LEN], uint64_t session,
		    const uint8_t shared[static 32], uint8_t *out, size_t cap)
{
	memcpy(m->sender, in->pub, WG_KEY_LEN);
	m->counter = mesh_counter_next(&in->counter, in->io.real_ns(in->io.ctx));
	m->session = session;
	return mesh_seal(m, to, shared, out, cap);
}

/* Seal m as a session message of member to's (its agent session `session`). */
static int seal_session(struct introducer *in, struct member *to, struct mesh_msg *m, uint64_t session, uint8_t *out,
			size_t cap)
{
	memcpy(m->sender, in->pub, WG_KEY_LEN);
	m->counter = mesh_counter_next(&in->counter, in->io.real_ns(in->io.ctx));
	m->session = session;
	return mesh_session_seal(m, to->sid, to->keys.to_agent, out, cap);
}

/* Seal m for member `to`'s current session: as a session message once the
 * member has sent one (it holds the keys), else in full. */
static int seal_to(struct introducer *in, struct member *to, struct mesh_msg *m, uint8_t *out, size_t cap)
{
	if (to->has_sid && to->sid_heard && to->sid_session == to->session)
		return seal_session(in, to, m, to->session, out, cap);
	return seal_for(in, m, to->rec.key, to->session, to->shared, out, cap);
}

static void send_msg(struct introducer *in, struct member *to, struct mesh_msg *m)
{
	uint8_t out[MESH_MAX_MSG];
	int n = seal_to(in, to, m, out, sizeof(out));

	if (n > 0)
		send_to_member(in, to, out, (size_t)n);
}


static const struct mesh_member_conf *allowed(const struct introducer *in, const uint8_t key[static WG_KEY_LEN])
{
	for (int i = 0; i < in->conf.n_allow; i++)
		if (!sodium_memcmp(in->conf.allow[i].key, key, WG_KEY_LEN))
			return &in->conf.allow[i];
	return NULL;
}

static bool refusal_logged(struct introducer *in, const uint8_t key[static WG_KEY_LEN], uint64_t now)
{
	int oldest = 0;

	for (int i = 0; i < 16; i++) {
		if (!memcmp(in->refused[i].key, key, WG_KEY_LEN)) {
			if (now - in->refused[i].at_ms < LOG_EVERY_MS)
				return true;
			in->refused[i].at_ms = now;
			return false;
		}
		if (in->refused[i].at_ms < in->refused[oldest].at_ms)
			oldest = i;
	}
	memcpy(in->refused[oldest].key, key, WG_KEY_LEN);
	in->refused[oldest].at_ms = now;
	return false;
}

static void refuse(struct introducer *in, const struct mesh_msg *m, const uint8_t shared[static 32], uint8_t reason,
		   const char *why, size_t request_len, uint64_t now)
{
	struct mesh_msg r = { .type = MESH_REFUSED };
	uint8_t out[MESH_MAX_MSG];
	int n;

	if (now - in->refusal_window_ms >= LOG_EVERY_MS) {
		if (in->refusals_unlogged)
			say("%d more refusals in the last %d s were not logged", in->refusals_unlogged, LOG_EVERY_MS / 1000);
		in->refusal_window_ms = now;
		in->refusal_logs = in->refusals_unlogged = 0;
	}
	if (refusal_logged(in, m->sender, now))
		;
	else if (in->refusal_logs >= REFUSAL_LOGS)
		in->refusals_unlogged++;
	else if (++in->refusal_logs)
		say("refused %s from %s: %s", keystr(m->sender), cur_from_str(in), why);
	r.u.refused.reason = reason;
	n = seal_for(in, &r, m->sender, m->session, shared, out, sizeof(out));
	/* Never an amplifier: the answer is smaller than what it answers. */
	if (n > 0 && (size_t)n < request_len)
		reply(in, out, (size_t)n);
}

static struct member *member_new(struct introducer *in, const uint8_t key[static WG_KEY_LEN], const uint8_t shared[static 32],
				 const char *name)
{
	struct member *m;
	uint32_t size = 1u << (32 - in->conf.plen4), mesh4 = 0;
	uint8_t token[MESH_TOKEN_LEN], mesh6[16];

	for (uint32_t a = 0; a < size && !mesh4; a++) {
		uint32_t addr = mesh_pool_v4(in->conf.pool4, in->conf.plen4, key, a);
		if (!members_by_mesh4(&in->members, addr))
			mesh4 = addr;
	}
	if (!mesh4)
		return NULL;
	randombytes_buf(token, sizeof(token));
	mesh_pool_v6(in->conf.pool6, in->conf.plen6, key, mesh6);
	if (!(m = members_add(&in->members, key, in->next_id, token, mesh4, mesh6)))
		return NULL;
	in->next_id++;
	memcpy(m->shared, shared, 32);
	snprintf(m->rec.name, sizeof(m->rec.name), "%s", name);
	mesh_replay_init(&m->replay);
	return m;
}

/* The current source address's bucket in table (JOIN_SLOTS of them); an
 * IPv6 source is counted by its first v6_bytes (8: its /64). */
static struct bucket *addr_bucket(struct introducer *in, struct bucket_slot *table, int v6_bytes, double burst,
				  double per_s, uint64_t now)
{
	uint8_t key[16];

	bucket_addr_sockaddr(&in->cur_from.addr.sa, key);
	if (in->cur_from.addr.ss_family == AF_INET6)
		memset(key + v6_bytes, 0, (size_t)(16 - v6_bytes));
	return bucket_for(table, JOIN_SLOTS, key, burst, per_s, now);
}

/* The current source's join bucket: an IPv6 source is counted by its /48
 * (a /56 or a /48 is one home's or one tunnel's, and its /64s are free to
 * rotate through); and all join attempts together are limited too, so no
 * number of addresses guesses the secret fast. */
static struct bucket *join_bucket(struct introducer *in, uint64_t now)
{
	bucket_fill(&in->joins_all, JOIN_ALL_BURST, JOIN_ALL_PER_S, now);
	return addr_bucket(in, in->joins, 6, JOIN_BURST, 1000.0 / JOIN_EVERY_MS, now);
}

/* May the current source try a join secret now? Only while it and
 * everyone have a token left; a wrong secret takes one of each (in
 * on_register), the right one none: guesses stay as slow as ever, and a
 * thousand agents that know the secret join at once. */
static bool join_allowed(struct introducer *in, uint64_t now)
{
	struct bucket *j = join_bucket(in, now);

	if (j->tokens < 1 || in->joins_all.tokens < 1) {
		if (!in->joins_limited++ || now - in->join_log_ms >= LOG_EVERY_MS) {
			in->join_log_ms = now;
			if (j->tokens < 1)
				say("join attempts from %s over its limit (%d, then one per %d s): not heard (%llu so far)",
				    cur_from_str(in), JOIN_BURST, JOIN_EVERY_MS / 1000, (unsigned long long)in->joins_limited);
			else
				say("join attempts from everywhere over their limit (%d, then %d a second): %s's not heard "
				    "(%llu so far)", JOIN_ALL_BURST, JOIN_ALL_PER_S, cur_from_str(in),
				    (unsigned long long)in->joins_limited);
		}
		return false;
	}
	return true;
}

static void send_peer(struct introducer *in, struct member *to, const struct member *about)
{
	struct mesh_msg p = { .type = MESH_PEER };

	p.u.peer = about->rec;
	send_msg(in, to, &p);
}

/* m's record changed: to every other member that takes changes (not
 * those on demand). */
static void announce(struct introducer *in, const struct member *m)
{
	for (int k = 0; k < in->members.n; k++)
		if (in->members.live[k] != m && !in->members.live[k]->on_demand)
			send_peer(in, in->members.live[k], m);
}

/* An address proves it is the sender's by bringing back a proof we sent
 * it: a MAC, under a secret of this process, of the sender's key, the
 * address and the half-minute (the one before counts too). Until then it
 * gets nothing larger than what it sent: a REGISTER with a forged source
 * makes us send the victim one small PROVE, no member list, no relayed
 * packet, and moves no member's address (issue 13 #4). */
#define PROOF_WINDOW_MS 30000

static void proof_for(const struct introducer *in, const uint8_t key[static WG_KEY_LEN], const struct wg_endpoint *ep,
		      uint64_t window, uint8_t out[static MESH_PROOF_LEN])
{
	crypto_generichash_state h;
	uint8_t w[8];

	for (int i = 0; i < 8; i++)
		w[i] = (uint8_t)(window >> (8 * i));
	crypto_generichash_init(&h, in->proof_secret, sizeof(in->proof_secret), MESH_PROOF_LEN);
	crypto_generichash_update(&h, key, WG_KEY_LEN);
	crypto_generichash_update(&h, (const uint8_t *)&ep->addr, wg_endpoint_len(ep));
	crypto_generichash_update(&h, w, sizeof(w));
	crypto_generichash_final(&h, out, MESH_PROOF_LEN);
}

static bool cookie_for(struct introducer *in, int age, uint64_t now, uint8_t out[static MESH_COOKIE_LEN]);

/* Does the REGISTER prove its source address: with the proof of a PROVE
 * to its key there, or with the cookie of that address (COOKIE)? Either
 * is in its sealed body, which only the key's holder makes: someone on
 * the path cannot take a member's REGISTER and prove their own address
 * with it. */
static bool proof_ok(struct introducer *in, const struct mesh_msg *msg, uint64_t now)
{
	uint8_t want[MESH_PROOF_LEN];
	bool ok = false;

	if (!msg->u.reg.has_proof)
		return false;
	for (uint64_t w = now / PROOF_WINDOW_MS, k = 0; k < 2 && w >= k && !ok; k++) {
		proof_for(in, msg->sender, &in->cur_from, w - k, want);
		ok = !sodium_memcmp(want, msg->u.reg.proof, MESH_PROOF_LEN);
	}
	for (int age = 0; age < 2 && !ok; age++)
		ok = cookie_for(in, age, now, want) && !sodium_memcmp(want, msg->u.reg.proof, MESH_PROOF_LEN);
	sodium_memzero(want, sizeof(want));
	return ok;
}

static void place_proven_soon(struct introducer *in, bool admitted, uint64_t now);

/* Seal an answer r to the message being handled (of session `session`,
 * from its sender to, with the pair's key shared): as a session message
 * when it came as one (from member m), else in full. */
static int seal_answer(struct introducer *in, struct member *m, struct mesh_msg *r, const uint8_t to[static WG_KEY_LEN],
		       uint64_t session, const uint8_t shared[static 32], uint8_t *out, size_t cap)
{
	if (in->cur_session && m && m->has_sid)
		return seal_session(in, m, r, session, out, cap);
	return seal_for(in, r, to, session, shared, out, cap);
}

/* Ask the address the REGISTER came from to prove itself (in the form
 * the REGISTER came in: never larger than it). admitted: the key is on
 * the allowlist or a member's (not a join claim), as the caller found. */
static void send_prove(struct introducer *in, struct member *m, bool admitted, const struct mesh_msg *msg,
		       const uint8_t shared[static 32], size_t request_len, uint64_t now)
{
	struct mesh_msg r = { .type = MESH_PROVE };
	uint8_t out[MESH_MAX_MSG];
	int n;

	proof_for(in, msg->sender, &in->cur_from, now / PROOF_WINDOW_MS, r.u.prove.proof);
	place_proven_soon(in, admitted, now);
	r.u.prove.ttl = msg->u.reg.ttl; /* the agent learns the hops to us from this too */
	n = seal_answer(in, m, &r, msg->sender, msg->session, shared, out, sizeof(out));
	in->stats.proves++;
	if (n > 0 && (size_t)n <= request_len)
		reply(in, out, (size_t)n);
}

#define CHANGE_BURST 4
#define CHANGE_PER_S 1

/* Joins are logged one by one, JOIN_LOGS of them per LOG_EVERY_MS; beyond
 * that (thousands joining at once) counted, and the count logged. */
#define JOIN_LOGS 20

/* A new window (from the tick too): what the last one did not log. */
static void join_window(struct introducer *in, uint64_t now)
{
	if (now - in->join_window_ms < LOG_EVERY_MS)
		return;
	if (in->joins_unlogged)
		say("%d more members joined in the last %d s (not logged one by one)", in->joins_unlogged,
		    LOG_EVERY_MS / 1000);
	in->join_window_ms = now;
	in->join_logs = in->joins_unlogged = 0;
}

static void log_join(struct introducer *in, const struct member *m, uint64_t now)
{
	join_window(in, now);
	if (in->join_logs++ < JOIN_LOGS)
		say("member %s (%s) joined from %s as id %u", m->rec.name, keystr(m->rec.key), cur_from_str(in), m->rec.id);
	else
		in->joins_unlogged++;
}

static void on_register(struct introducer *in, const struct mesh_msg *msg, const uint8_t shared[static 32],
			size_t request_len, uint64_t now)
{
	const struct mesh_member_conf *listed = allowed(in, msg->sender);
	struct member *m = members_by_key(&in->members, msg->sender);
	struct mesh_msg r = { .type = MESH_REGISTERED };
	uint8_t out[MESH_MAX_MSG];
	bool changed = false;
	int n;

	if (!m) {
		char name[MESH_NAME_LEN + 1];
		bool joining = !listed && in->conf.has_join && msg->u.reg.has_join;
		if (!listed && !joining) {
			refuse(in, msg, shared, MESH_REFUSED_NOT_MEMBER,
			       in->conf.has_join ? "not in the allowlist, and no valid join secret" : "not in the allowlist",
			       request_len, now);
			return;
		}
		/* Over UDP, a member is made only from a proven address: and a
		 * join secret is tried only from one, so spoofed sources spend
		 * no one's join attempts. */
		if (over_udp(in) && !proof_ok(in, msg, now)) {
			send_prove(in, NULL, listed != NULL, msg, shared, request_len, now);
			return;
		}
		/* A join attempt over its address's limit is not heard at all. */
		if (joining && !join_allowed(in, now))
			return;
		if (joining && sodium_memcmp(msg->u.reg.join, in->conf.join, 32)) {
			bucket_take_both(join_bucket(in, now), &in->joins_all);   /* a wrong guess */
			refuse(in, msg, shared, MESH_REFUSED_NOT_MEMBER, "not in the allowlist, and no valid join secret",
			       request_len, now);
			return;
		}
		/* Joins with the right secret: many at once, but not without
		 * end (one who has the secret cannot fill the table at once),
		 * and fewer that each cost a member list. */
		if (joining && (msg->u.reg.on_demand ? !bucket_take(&in->joins_ok, JOIN_OK_BURST, JOIN_OK_PER_S, now)
						     : !bucket_take(&in->joins_list, JOIN_LIST_BURST, JOIN_LIST_PER_S, now))) {
			if (!in->joins_limited++ || now - in->join_log_ms >= LOG_EVERY_MS) {
				in->join_log_ms = now;
				say("joins with the right secret over their limit (%d, then %d a second; %d and %d of agents "
				    "with peers on demand): %s's not heard yet",
				    JOIN_LIST_BURST, JOIN_LIST_PER_S, JOIN_OK_BURST, JOIN_OK_PER_S, cur_from_str(in));
			}
			return;
		}
		if (listed)
			snprintf(name, sizeof(name), "%s", listed->name);
		else if (msg->u.reg.name[0])
			snprintf(name, sizeof(name), "%s", msg->u.reg.name);
		else
			snprintf(name, sizeof(name), "%.8s", keystr(msg->sender));
		if (!(m = member_new(in, msg->sender, shared, name))) {
			refuse(in, msg, shared, MESH_REFUSED_POOL_FULL, "no mesh address left in the pool", request_len, now);
			return;
		}
		m->by_join = !listed;
		mesh_replay_check(&m->replay, msg->counter);
		changed = true;
		log_join(in, m, now);
	}
	/* A member moves to a new address only once the address proves it. */
	if (over_udp(in) && !wg_endpoint_equal(seen_at(m, in->cur_via), &in->cur_from) && !proof_ok(in, msg, now)) {
		send_prove(in, m, true, msg, shared, request_len, now);
		return;
	}
	if (over_udp(in)) {
		if (!wg_endpoint_equal(seen_at(m, in->cur_via), &in->cur_from)) {
			members_set_seen(&in->members, m, seen_index(in->cur_via), &in->cur_from);
			changed = true;
		}
	}
	if (in->cur_via == MESH_VIA_UDP6) {
		/* Where it is seen from over IPv6; a proven registration there
		 * keeps it a member as one over IPv4 does (an IPv6-only host
		 * has no other). */
		m->seen6_ms = now ? now : 1;
		m->last_ms = now;
		if (m->rec.tcp_only && ipv6_only(m)) {
			m->rec.tcp_only = false;   /* its TCP connection is gone */
			changed = true;
		}
	} else if (in->cur_via < 2) {
		m->last_ms = now;
		m->seen4_ms[in->cur_via] = now ? now : 1;
		if (m->rec.tcp_only) {
			m->rec.tcp_only = false;
			changed = true;
		}
	} else {
		struct conn *k = in->conns[in->cur_conn];
		m->last_ms = now;
		if (m->conn != in->cur_conn && m->conn >= 0 && in->conns[m->conn])
			in->conns[m->conn]->member = NULL;
		/* One member per connection: one that registered over it before
		 * no longer owns it (its expiry must not close it). */
		if (k->member && k->member != m && k->member->conn == in->cur_conn)
			k->member->conn = -1;
		m->conn = in->cur_conn;
		k->member = m;
		if (!m->rec.seen[0].addr.ss_family && !m->rec.tcp_only) {
			m->rec.tcp_only = true;
			changed = true;
		}
	}
	/* Its candidates come with its registrations on its main path (IPv6
	 * for an IPv6-only host). */
	if ((in->cur_via != MESH_VIA_UDP6 || ipv6_only(m)) && (m->rec.n_cands != msg->u.reg.n_cands ||
	    memcmp(m->rec.cands, msg->u.reg.cands, sizeof(m->rec.cands[0]) * msg->u.reg.n_cands))) {
		changed = true;
		m->rec.n_cands = msg->u.reg.n_cands;
		memcpy(m->rec.cands, msg->u.reg.cands, sizeof(m->rec.cands));
	}
	/* A port mapping is passed on only on the address we see the member
	 * from (its REGISTER to our first address says): one elsewhere (a
	 * home router's behind a carrier NAT) opens nothing, and no member
	 * points its peers at another host. */
	if (in->cur_via == 0) {
		struct wg_endpoint mapped = { 0 };
		uint8_t by = 0;
		if (msg->u.reg.mapped.addr.ss_family && wg_endpoint_same_address(&msg->u.reg.mapped, &in->cur_from)) {
			mapped = msg->u.reg.mapped;
			by = msg->u.reg.mapped_by;
		}
		if (!wg_endpoint_equal(&m->rec.mapped, &mapped) || m->rec.mapped_by != by) {
			changed = true;
			m->rec.mapped = mapped;
			m->rec.mapped_by = by;
		}
	}
	r.u.regd.seen = over_udp(in) ? in->cur_from : (struct wg_endpoint){ 0 };
	r.u.regd.via = (uint8_t)in->cur_via;
	r.u.regd.ttl = msg->u.reg.ttl;
	r.u.regd.id = m->rec.id;
	r.u.regd.mesh4 = m->rec.mesh4;
	r.u.regd.plen4 = in->conf.plen4;
	memcpy(r.u.regd.mesh6, m->rec.mesh6, 16);
	r.u.regd.plen6 = in->conf.plen6;
	memcpy(r.u.regd.token, m->token, MESH_TOKEN_LEN);
	snprintf(r.u.regd.name, sizeof(r.u.regd.name), "%s", m->rec.name);
	r.u.regd.n_peers = (uint16_t)(in->members.n - 1);
	/* From now on, what we say to this member is for this session, and
	 * its session messages go under this session's keys. */
	m->session = msg->session;
	m->on_demand = msg->u.reg.on_demand;
	if (!m->has_sid || m->sid_session != m->session) {
		uint8_t sid[MESH_SID_LEN];
		do
			randombytes_buf(sid, sizeof(sid));
		while (members_by_sid(&in->members, sid));
		members_set_sid(&in->members, m, sid);
		randombytes_buf(m->secret, sizeof(m->secret));
		mesh_session_keys(m->secret, m->shared, &m->keys);
		m->sid_session = m->session;
		m->sid_heard = false;
	}
	/* A REGISTER in full: it may have lost the keys (an agent that
	 * changed introducer and came back): the answer goes in full. */
	if (!in->cur_session)
		m->sid_heard = false;
	memcpy(r.u.regd.sid, m->sid, MESH_SID_LEN);
	memcpy(r.u.regd.secret, m->secret, MESH_SECRET_LEN);
	n = seal_answer(in, m, &r, m->rec.key, m->session, m->shared, out, sizeof(out));
	sodium_memzero(r.u.regd.secret, sizeof(r.u.regd.secret));
	if (n > 0)
		reply(in, out, (size_t)n);
	/* The peer list: all of it to this member when its session starts,
	 * on whichever address heard it first (the other's REGISTER may be
	 * lost, and a member that knows no one cannot answer a peer's
	 * handshake), then on its main address when it is due; and this
	 * member to everyone when something about it changed. */
	bool main_path = in->cur_via == 0 || in->cur_via == MESH_VIA_TCP || (in->cur_via == MESH_VIA_UDP6 && ipv6_only(m));
	bool whole_list = !m->on_demand && (!m->listed_ms || m->listed_session != msg->session ||
					    (main_path && now - m->listed_ms >= MESH_LIST_REFRESH_MS));
	if (whole_list) {
		m->listed_ms = now ? now : 1;
		m->listed_session = msg->session;
	}
	/* A member's changes go out a few at once, then one a second (the
	 * latest record, in the next second, when over that): one that
	 * changes its record with every REGISTER makes no flood. */
	if (changed && !bucket_take(&m->changes, CHANGE_BURST, CHANGE_PER_S, now)) {
		m->change_pending = true;
		changed = false;
	} else if (changed)
		m->change_pending = false;
	/* On the main path the list goes where the member is now (its
	 * record says so); on another, back where this REGISTER came from
	 * (the address it just proved): the main endpoint on record may be
	 * an old one, someone else's by now. */
	for (int i = 0; i < in->members.n && whole_list; i++)
		if (in->members.live[i] != m) {
			struct mesh_msg pm = { .type = MESH_PEER };
			int k;
			if (main_path) {
				send_peer(in, m, in->members.live[i]);
				continue;
			}
			pm.u.peer = in->members.live[i]->rec;
			if ((k = seal_to(in, m, &pm, out, sizeof(out))) > 0)
				reply(in, out, (size_t)k);
		}
	if (changed)
		announce(in, m);
}

/* CONNECTs a member may make: a burst (a member meeting many peers at
 * once), then one a second: a member gone bad cannot make others punch
 * without end (issue 13 #6). */
#define CONNECT_BURST 10
#define CONNECT_EVERY_MS 1000

static void on_connect(struct introducer *in, struct member *m, const struct mesh_msg *msg, uint64_t now)
{
	struct member *o = members_by_id(&in->members, msg->u.connect.id);
	struct mesh_msg p = { .type = MESH_PUNCH };

	if (!o || o == m)
		return;
	bucket_fill(&m->connects, CONNECT_BURST, 1000.0 / CONNECT_EVERY_MS, now);
	if (m->connects.tokens < 1)
		return;
	m->connects.tokens -= 1;
	/* Both at the same moment, each with the other's candidates. */
	p.u.punch.round = ++in->round;
	p.u.punch.peer = o->rec;
	send_msg(in, m, &p);
	p.u.punch.peer = m->rec;
	send_msg(in, o, &p);
}

/* LOOKUPs a member may make: a burst (a member that starts talking to
 * many peers at once), then a few a second. */
#define LOOKUP_BURST 32
#define LOOKUP_PER_S 8

/* The member at a mesh address, to the member that asks; nothing when
 * there is none. */
static void on_lookup(struct introducer *in, struct member *m, const struct mesh_msg *msg, uint64_t now)
{
	struct member *o;
	uint32_t a4;

	if (!bucket_take(&m->lookups, LOOKUP_BURST, LOOKUP_PER_S, now))
		return;
	memcpy(&a4, msg->u.lookup.addr, 4);
	o = msg->u.lookup.family == 4 ? members_by_mesh4(&in->members, a4) : members_by_mesh6(&in->members, msg->u.lookup.addr);
	if (o && o != m)
		send_peer(in, m, o);
}

/* A member whose counter we already hold (it restarted while we kept its
 * old stream, or its clock stepped back): say how far we hold, at most once
 * a second, to where the message came from, and never in more bytes than
 * the message we answer. */
static void send_resync(struct introducer *in, struct member *m, uint64_t session, size_t answered_len, uint64_t now)
{
	struct mesh_msg r = { .type = MESH_RESYNC };
	uint8_t out[MESH_MAX_MSG];
	int n;

	if (!mesh_replay_resync_due(&m->replay, now))
		return;
	r.u.resync.newest = mesh_replay_newest(&m->replay);
	n = seal_answer(in, m, &r, m->rec.key, session, m->shared, out, sizeof(out));
	if (n > 0 && (size_t)n <= answered_len)
		reply(in, out, (size_t)n);
}

/* Every control message costs an X25519 to learn who sent it (protocol
 * version 3 names no one), once its cheap MAC checked. A message from
 * where a member registered (its address, or its TCP connection) is
 * charged to that member: MEMBER_X25519_BURST at once, then
 * MEMBER_X25519_PER_S a second, far above what an agent sends. One from
 * anywhere else (a new member, one that moved, a flood of spoofed sources)
 * is charged to the budget of strangers: at most X25519_BURST at once and
 * X25519_PER_S a second in all, and per source address a few a second, so
 * a flood cannot take the introducer's CPU and locks no member out
 * (issue 13 #7). */
#define X25519_BURST 200
#define X25519_PER_S 1000
#define X25519_PER_SOURCE 64       /* burst per source address (a carrier NAT's many users share one) */
#define X25519_PER_SOURCE_S 16     /* then these a second (a new member's first contact costs two) */
#define MEMBER_X25519_BURST 40
#define MEMBER_X25519_PER_S 10
/* A REGISTER that comes with a cookie of its source address's (COOKIED:
 * the address is proven before any X25519, and a spoofed flood has no
 * cookie) is charged to the budget of proven sources instead: larger, so
 * thousands of agents join in a second or two (first registrations at
 * 5000 a second and more, issue 17), and per address a share of it (a
 * carrier NAT's hundreds of users share one). Proven sources cannot flood
 * at any speed either: the X25519s that open their messages stay under
 * X25519_PROVEN_PER_S (with the two that seal each answer, the most one
 * core does here: a join storm is served at the introducer's full speed,
 * a member's session messages cost no X25519). */
#define X25519_PROVEN_BURST 2000
#define X25519_PROVEN_PER_S 12000
#define X25519_PROVEN_PER_SOURCE 512    /* per address (an IPv6 one by its /48: a home's or a */
#define X25519_PROVEN_PER_SOURCE_S 256  /* tunnel's, whose /64s are free to rotate through) */
/* Over the strangers' budget, a REGISTER in full over UDP is answered with
 * a COOKIE (a hash and an AEAD, 60 bytes, smaller than any REGISTER),
 * these many at once and a second. */
#define COOKIE_BURST 10000
#define COOKIE_PER_S 50000
#define COOKIE_PER_ADDR 256        /* to one address (a carrier NAT's users), at once, */
#define COOKIE_PER_ADDR_S 128      /* then a second (a PROVE's: 64 and 16) */
#define COOKIE_SECRET_MS 120000    /* a cookie secret's period; the one before counts too (so a cookie
				    * proves its address and port for 2 to 4 minutes, for any key: a
				    * PROVE's proof, bound to the key, for 30 to 60 s; whoever held
				    * that port of a NAT before may use it that long) */
/* A place (address and port) we sent a PROVE to (a key we admit, from
 * an address not yet proven) is remembered for a while: its REGISTER with
 * the proof, and its retries, are charged to it and to the global budget,
 * not to its address's, so a hundred agents joining behind one carrier
 * NAT address at once do not starve each other. A place lasts
 * PLACE_KEEP_MS from its PROVE, whatever it sends, and one address holds
 * at most PLACE_PER_ADDR of them (its oldest makes room). */
#define PLACE_BURST 16   /* a first contact: a TTL sweep of 8 and a REGISTER to each address, and proofs */
#define PLACE_JOIN_BURST 8 /* for a key that only claims the join secret (any key may: checked after the proof) */
#define PLACE_PER_S 2
#define PLACE_KEEP_MS 30000
#define PLACE_PER_ADDR 64

/* The member a message comes from by where it comes from, before anyone
 * knows who sent it; NULL for a place no member registered from. */
static struct member *member_at(struct introducer *in)
{
	if (!over_udp(in)) {
		struct conn *k = in->cur_conn >= 0 ? in->conns[in->cur_conn] : NULL;
		return k ? k->member : NULL;
	}
	struct member *m = members_seen_at(&in->members, seen_index(in->cur_via), &in->cur_from);

	/* Or where it registered on our other address: an agent's first
	 * contact reaches both, and the two sockets' queues are read in
	 * either order (its sweep to one after it joined on the other). */
	if (!m)
		m = members_seen_at(&in->members, BY_SEEN0, &in->cur_from);
	return m ? m : members_seen_at(&in->members, BY_SEEN1, &in->cur_from);
}

/* Is an IPv6-only member registered at where the current message came
 * from (our IPv6 address)? */
static bool ipv6_only_member_at(const struct introducer *in)
{
	struct member *m = members_seen_at(&in->members, BY_SEEN6, &in->cur_from);

	return m && ipv6_only_here(in, m);
}

/* The place the current message came from, if a PROVE went there lately
 * (UDP only). */
static struct place *place_at(struct introducer *in, uint64_t now)
{
	for (int i = 0; i < PLACES && over_udp(in); i++)
		if (in->places[i].at_ms && now - in->places[i].at_ms < PLACE_KEEP_MS &&
		    wg_endpoint_equal(&in->places[i].ep, &in->cur_from))
			return &in->places[i];
	return NULL;
}

/* Remember the place a PROVE goes to (see PLACE_KEEP_MS). */
static void place_proven_soon(struct introducer *in, bool admitted, uint64_t now)
{
	struct place *p = place_at(in, now), *oldest = NULL, *oldest_here = NULL, *free_slot = NULL;
	int here = 0;

	if (!over_udp(in) || p)
		return;
	for (int i = 0; i < PLACES; i++) {
		struct place *q = &in->places[i];
		if (!q->at_ms || now - q->at_ms >= PLACE_KEEP_MS) {
			if (!free_slot)
				free_slot = q;
			continue;
		}
		if (!oldest || q->at_ms < oldest->at_ms)
			oldest = q;
		if (wg_endpoint_same_source(&q->ep, &in->cur_from) && ++here && (!oldest_here || q->at_ms < oldest_here->at_ms))
			oldest_here = q;
	}
	p = here >= PLACE_PER_ADDR ? oldest_here : free_slot ? free_slot : oldest;
	memset(p, 0, sizeof(*p));
	p->ep = in->cur_from;
	p->admitted = admitted;
	p->at_ms = now ? now : 1;
}

/* The cookie of the current source address (and port) under the secret
 * of this period (age 0) or the one before (1); false when that secret
 * is not there (it is the first period). */
static bool cookie_for(struct introducer *in, int age, uint64_t now, uint8_t out[static MESH_COOKIE_LEN])
{
	uint64_t period = now / COOKIE_SECRET_MS + 1;

	if (in->cookie_period != period) {
		if (in->cookie_period + 1 == period)
			memcpy(in->cookie_secret[1], in->cookie_secret[0], 32);
		else
			sodium_memzero(in->cookie_secret[1], 32);  /* none from the period before */
		randombytes_buf(in->cookie_secret[0], 32);
		in->cookie_period = period;
	}
	if (sodium_is_zero(in->cookie_secret[age], 32))
		return false;
	crypto_generichash(out, MESH_COOKIE_LEN, (const uint8_t *)&in->cur_from.addr, wg_endpoint_len(&in->cur_from),
			   in->cookie_secret[age], 32);
	return true;
}

/* Answer a REGISTER over the strangers' budget with a COOKIE, within
 * COOKIE_BURST / COOKIE_PER_S in all and COOKIE_PER_ADDR /
 * COOKIE_PER_ADDR_S to one address, never larger than the REGISTER. */
static void send_cookie(struct introducer *in, const uint8_t *request, size_t request_len, uint64_t now)
{
	uint8_t cookie[MESH_COOKIE_LEN], out[MESH_COOKIE_MSG_LEN];
	int n;

	if (!over_udp(in))
		return;
	bucket_fill(&in->cookies, COOKIE_BURST, COOKIE_PER_S, now);
	if (!bucket_take_both(&in->cookies, addr_bucket(in, in->cookie_dst, 8, COOKIE_PER_ADDR, COOKIE_PER_ADDR_S, now)) ||
	    !cookie_for(in, 0, now, cookie))
		return;
	n = mesh_cookie_build(out, sizeof(out), in->cookie_key, cookie, request + request_len - MESH_MAC1_LEN);
	sodium_memzero(cookie, sizeof(cookie));
	if (n > 0 && (size_t)n < request_len) {
		in->stats.cookies++;
		reply(in, out, (size_t)n);
	}
}

/* The budget in all that the current message's X25519s are charged to,
 * filled up to now: proven sources' (it came with a cookie, or over TCP,
 * whose handshake proved the address) or strangers'. */
static struct bucket *x25519_budget(struct introducer *in, uint64_t now)
{
	if (in->cur_proven || !over_udp(in)) {
		bucket_fill(&in->x25519_proven, X25519_PROVEN_BURST, X25519_PROVEN_PER_S, now);
		return &in->x25519_proven;
	}
	bucket_fill(&in->x25519, X25519_BURST, X25519_PER_S, now);
	return &in->x25519;
}

/* May the current message (a REGISTER: reg) have its X25519? From a member's place, on
 * that member's budget, or when it is spent (someone spoofing its
 * address), on the strangers'; from a place a PROVE went to, on that
 * place's; else on the strangers'. */
static bool x25519_allowed(struct introducer *in, bool reg, uint64_t now)
{
	struct member *at = member_at(in);
	struct place *pl;
	struct bucket *g, *s;
	/* A REGISTER from a place no member is at is most likely a new key's,
	 * which costs a second X25519 (its pair key): taken only with room
	 * for both, not spent on one whose second is refused. */
	double need = reg && !at && over_udp(in) ? 2 : 1;

	if (at && bucket_take(&at->x25519, MEMBER_X25519_BURST, MEMBER_X25519_PER_S, now))
		return true;
	g = x25519_budget(in, now);
	if (g == &in->x25519_proven)
		s = addr_bucket(in, in->proven, 6, X25519_PROVEN_PER_SOURCE, X25519_PROVEN_PER_SOURCE_S, now);
	else if ((pl = place_at(in, now))) {
		bucket_fill(s = &pl->b, pl->admitted ? PLACE_BURST : PLACE_JOIN_BURST, PLACE_PER_S, now);
		need = 1;   /* its key's pair key is cached from its first REGISTER */
	} else
		s = addr_bucket(in, in->unknown, 8, X25519_PER_SOURCE, X25519_PER_SOURCE_S, now);
	if (g->tokens < need || !bucket_take_both(g, s)) {
		in->stats.x25519_limited++;
		return false;
	}
	in->stats.x25519++;
	return true;
}

/* The shared key with a key that is not a member yet: from the cache (a
 * new agent's first contact sends several), else computed, for one more
 * token of the strangers' budget. */
static int unknown_shared(struct introducer *in, const uint8_t key[static WG_KEY_LEN], uint8_t shared[static 32],
			  uint64_t now)
{
	struct shared_cache *c, *oldest = &in->shared_cache[0];
	struct bucket *g;

	for (int i = 0; i < SHARED_CACHE; i++) {
		c = &in->shared_cache[i];
		if (c->at_ms && !memcmp(c->key, key, WG_KEY_LEN)) {
			memcpy(shared, c->shared, 32);
			c->at_ms = now ? now : 1;
			return 0;
		}
		if (c->at_ms < oldest->at_ms)
			oldest = c;
	}
	/* A second X25519 for a new key: charged to the budget in all too. */
	if ((g = x25519_budget(in, now))->tokens < 1) {
		in->stats.x25519_limited++;
		return -EAGAIN;
	}
	g->tokens -= 1;
	in->stats.x25519++;
	if (mesh_shared_key(shared, key, in->conf.private_key))
		return -EINVAL;
	memcpy(oldest->key, key, WG_KEY_LEN);
	memcpy(oldest->shared, shared, 32);
	oldest->at_ms = now ? now : 1;
	return 0;
}

static void handle(struct introducer *in, struct member *m, const struct mesh_msg *msg, const uint8_t shared[static 32],
		   size_t len, uint64_t now);

static void on_control(struct introducer *in, const uint8_t *buf, size_t len, uint64_t now)
{
	uint8_t type, shared[32];
	struct mesh_env env;
	struct member *m;
	struct mesh_msg msg;
	char why[160];
	int ret;

	/* The cheap checks first: version, shape, the MAC keyed by our key. */
	if ((ret = mesh_check(buf, len, in->mac1_key, &type))) {
		if (ret == -EACCES)
			in->stats.no_mac1++;
		if (ret == -EPROTO && (!in->version_log_ms || now - in->version_log_ms >= LOG_EVERY_MS)) {
			in->version_log_ms = now;
			say("a message of mesh protocol version %u from %s; we speak %d: update the older side", buf[2],
			    cur_from_str(in), MESH_VERSION);
		}
		return;
	}
	/* Our IPv6 address hears REGISTERs from anyone, and the rest only
	 * from where an IPv6-only member is seen (a dual-stack one asks over
	 * IPv4): nothing else there costs an X25519. */
	if (in->cur_via == MESH_VIA_UDP6 && type != MESH_REGISTER && !ipv6_only_member_at(in))
		return;
	/* Then, within its place's budget, the X25519 that says who sent it. */
	if (mesh_recent_copy(&in->recent, buf + len - MESH_MAC1_LEN, now)) {
		in->stats.copies++;
		return;
	}
	if (!x25519_allowed(in, type == MESH_REGISTER, now)) {
		if (type == MESH_REGISTER && !in->cur_proven)
			send_cookie(in, buf, len, now);
		return;
	}
	if (mesh_unwrap(buf, len, in->conf.private_key, in->pub, &env))
		return;
	m = members_by_key(&in->members, env.sender);
	if (m)
		memcpy(shared, m->shared, 32);
	else if (type != MESH_REGISTER || (ret = unknown_shared(in, env.sender, shared, now))) {
		sodium_memzero(&env, sizeof(env));
		if (type == MESH_REGISTER && ret == -EAGAIN && !in->cur_proven)
			send_cookie(in, buf, len, now);   /* its second X25519 over the budget */
		return;
	}
	ret = mesh_open(buf, len, &env, shared, &msg, why, sizeof(why));
	sodium_memzero(&env, sizeof(env));
	if (ret) {
		if (now - in->forged_log_ms > LOG_EVERY_MS) {
			in->forged_log_ms = now;
			say("dropped a message from %s: %s", cur_from_str(in), why);
		}
		goto out;
	}
	handle(in, m, &msg, shared, len, now);
out:
	sodium_memzero(shared, sizeof(shared));
}

/* An opened control message, from a full one or a session's: from m (NULL:
 * not a member yet), with the pair's key shared. */
static void handle(struct introducer *in, struct member *m, const struct mesh_msg *msg, const uint8_t shared[static 32],
		   size_t len, uint64_t now)
{
	uint8_t type = msg->type;

	if (!mesh_counter_fresh(msg->counter, in->io.real_ns(in->io.ctx), MESH_COUNTER_SKEW_S))
		return; /* an old message replayed, or a clock far off */
	if (m && type == MESH_RESYNC) {
		/* Outside the replay window: it only moves our counter forward. */
		if (mesh_counter_resync(&in->counter, msg->u.resync.newest, in->io.real_ns(in->io.ctx)))
			say("member %s holds newer counters of ours (we restarted, or the clock stepped back): continuing above them",
			    m->rec.name);
		return;
	}
	if (m && !mesh_replay_check(&m->replay, msg->counter)) {
		if (!mesh_replay_holds(&m->replay, msg->counter))
			send_resync(in, m, msg->session, len, now);
		return; /* a replay, or the member restarted with its clock behind */
	}
	if (m && in->cur_via < 2 && type != MESH_REGISTER && !wg_endpoint_equal(&m->rec.seen[in->cur_via], &in->cur_from) &&
	    !wg_endpoint_equal(&m->rec.seen[0], &in->cur_from))
		return; /* from somewhere it has not registered: register first */
	if (m && !over_udp(in) && type != MESH_REGISTER && m->conn != in->cur_conn)
		return;
	if (m && in->cur_via == MESH_VIA_UDP6 && type != MESH_REGISTER && !ipv6_only_here(in, m))
		return;
	/* It holds this session's keys: what we send it may go under them. */
	if (m && in->cur_session)
		m->sid_heard = true;
	switch (type) {
	case MESH_REGISTER:
		on_register(in, msg, shared, len, now);
		break;
	case MESH_CONNECT:
		if (m)
			on_connect(in, m, msg, now);
		break;
	case MESH_LOOKUP:
		if (m)
			on_lookup(in, m, msg, now);
		break;
	default:
		break;
	}
}

#define SESSION_MSG_BURST 64
#define SESSION_MSG_PER_S 20

/* A session message: its sid names the member (a table lookup), its key
 * opens it (no X25519); then as any control message of that member's
 * (issue 17: a re-registration costs a hash lookup and two AEADs). */
static void on_session(struct introducer *in, const uint8_t *buf, size_t len, uint64_t now)
{
	const uint8_t *sid;
	struct member *m;
	struct mesh_msg msg;
	char why[160];

	if (mesh_session_sid(buf, len, &sid) || !(m = members_by_sid(&in->members, sid)))
		return;
	if (mesh_session_open(buf, len, m->keys.to_introducer, &msg, why, sizeof(why))) {
		if (now - in->forged_log_ms > LOG_EVERY_MS) {
			in->forged_log_ms = now;
			say("dropped a session message from %s: %s", cur_from_str(in), why);
		}
		return;
	}
	if (msg.session != m->sid_session || msg.type == MESH_REGISTERED || msg.type == MESH_PEER || msg.type == MESH_PUNCH)
		return;
	/* From somewhere the member has not registered (it moved, or someone
	 * replays its messages from elsewhere): what that may cost (a PROVE's
	 * X25519s) is charged as a stranger's message is. */
	if (member_at(in) != m && !x25519_allowed(in, false, now))
		return;
	/* A member's session messages: many at once, then a few a second
	 * (an agent sends one every few seconds; one gone bad no flood). */
	if (!bucket_take(&m->session_msgs, SESSION_MSG_BURST, SESSION_MSG_PER_S, now))
		return;
	memcpy(msg.sender, m->rec.key, WG_KEY_LEN);
	in->cur_session = true;
	handle(in, m, &msg, m->shared, len, now);
	in->cur_session = false;
}

/* RELAY: only between registered members, from where they registered,
 * within each member's rate; what goes out is smaller than what came in. */
static void on_relay(struct introducer *in, const uint8_t *buf, size_t len, uint64_t now)
{
	const uint8_t *token, *pkt;
	uint32_t to;
	size_t pktlen;
	struct member *src = NULL, *dst;
	uint8_t out[MESH_RELAYED_HDR_LEN + 65536];
	int n;

	if (mesh_relay_parse(buf, len, &token, &to, &pkt, &pktlen))
		return;
	if (!(src = members_by_token(&in->members, token)))
		return;
	if (!over_udp(in) ? src->conn != in->cur_conn
	    : in->cur_via == MESH_VIA_UDP6 ? !ipv6_only_here(in, src)
					   : !wg_endpoint_equal(&src->rec.seen[0], &in->cur_from) &&
						     !wg_endpoint_equal(&src->rec.seen[1], &in->cur_from))
		return;
	if (!(dst = members_by_id(&in->members, to)) || dst == src)
		return;
	bucket_fill(&src->relay, in->conf.relay_rate, in->conf.relay_rate, now);
	if (src->relay.tokens < (double)len)
		return;
	src->relay.tokens -= (double)len;
	src->last_ms = now;
	if ((n = mesh_relayed_build(out, sizeof(out), src->rec.id, pkt, pktlen)) > 0)
		send_to_member(in, dst, out, (size_t)n);
}

/* COOKIED: a REGISTER with a MAC keyed by its source's cookie. One that
 * checks has its source proven before any X25519, and is charged to the
 * budget of proven sources (the cookie in its body, checked after, is
 * what moves a member there or lets it join); one that does not
 * (a cookie from before our restart, or over two periods old) is heard
 * as the REGISTER alone, which may get a new COOKIE. Over UDP only (a
 * TCP connection proves its address itself). */
static void on_cookied(struct introducer *in, const uint8_t *buf, size_t len, uint64_t now)
{
	uint8_t cookie[MESH_COOKIE_LEN], type;
	const uint8_t *msg;
	size_t msglen;

	/* Its REGISTER's cheap MAC first (on_control counts one that fails):
	 * a flood of them costs no more hashing than one of REGISTERs. */
	if (!over_udp(in) || mesh_cookied_inner(buf, len, &msg, &msglen))
		return;
	if (mesh_check(msg, msglen, in->mac1_key, &type)) {
		on_control(in, msg, msglen, now);
		return;
	}
	for (int age = 0; age < 2 && !in->cur_proven; age++)
		in->cur_proven = cookie_for(in, age, now, cookie) && mesh_cookied_ok(buf, len, cookie);
	sodium_memzero(cookie, sizeof(cookie));
	if (in->cur_proven)
		in->stats.cookied++;
	on_control(in, msg, msglen, now);
	in->cur_proven = false;
}

static void on_datagram(struct introducer *in, const uint8_t *buf, size_t len, uint64_t now)
{
	if (!mesh_is_message(buf, len))
		return;
	if (buf[3] == MESH_RELAY)
		on_relay(in, buf, len, now);
	else if (buf[3] == MESH_SESSION)
		on_session(in, buf, len, now);
	else if (buf[3] == MESH_COOKIED)
		on_cookied(in, buf, len, now);
	else
		on_control(in, buf, len, now);
}

static void on_frame(void *ctx, const uint8_t *msg, size_t len)
{
	struct introducer *in = ctx;

	if (conn_open(in, in->cur_conn))
		on_datagram(in, msg, len, in->cur_now);
}

void introducer_receive(struct introducer *in, int via, const struct wg_endpoint *from, const uint8_t *buf, size_t len,
			uint64_t now)
{
	in->cur_via = via;
	in->cur_from = *from;
	in->cur_proven = false;
	on_datagram(in, buf, len, now);
}

int introducer_conn_open(struct introducer *in, const struct wg_endpoint *from, uint64_t now)
{
	int slot = -1, victim = -1, same = 0;
	struct conn *k;

	for (int c = 0; c < MAX_CONNS; c++) {
		const struct conn *o = in->conns[c];
		if (!o) {
			if (slot < 0)
				slot = c;
			continue;
		}
		same += wg_endpoint_same_source(&o->from, from);
		if (!o->member && (victim < 0 || o->opened_ms < in->conns[victim]->opened_ms))
			victim = c;
	}
	if (same >= CONN_PER_ADDRESS)
		return -ENOSPC;
	if (slot < 0) {
		if (victim < 0)
			return -ENOSPC;
		conn_close(in, victim);
		slot = victim;
	}
	if (!(k = calloc(1, sizeof(*k))))
		return -ENOMEM;
	k->member = NULL;
	k->from = *from;
	k->opened_ms = k->last_ms = now;
	in->conns[slot] = k;
	return slot;
}

int introducer_conn_input(struct introducer *in, int conn, const uint8_t *bytes, size_t len, uint64_t now)
{
	int ret;

	if (conn < 0 || conn >= MAX_CONNS || !in->conns[conn])
		return -ENOENT;
	in->cur_via = MESH_VIA_TCP;
	in->cur_conn = conn;
	in->cur_from = in->conns[conn]->from;
	in->cur_now = now;
	in->conns[conn]->last_ms = now;
	in->reading_conn = conn;
	ret = mesh_stream_feed(&in->conns[conn]->in, bytes, len, on_frame, in);
	in->reading_conn = -1;
	if (ret == 0 && in->conns[conn]->closing)
		ret = -EPIPE;
	if (ret < 0)
		conn_close(in, conn);
	return ret;
}

void introducer_conn_closed(struct introducer *in, int conn)
{
	if (conn >= 0 && conn < MAX_CONNS)
		conn_close(in, conn);
}

/* m is out: its connection, its keys, and every other member told at once
 * (GONE), so that none keeps it as a peer or sends it anything. m is freed;
 * the member last in the table's list takes its place there. */
static void member_remove(struct introducer *in, struct member *m, bool by_conf)
{
	struct mesh_msg g = { .type = MESH_GONE };

	if (m->conn >= 0 && in->conns[m->conn] && in->conns[m->conn]->member == m)
		conn_close(in, m->conn);
	for (int c = 0; c < MAX_CONNS; c++)
		if (in->conns[c] && in->conns[c]->member == m)
			in->conns[c]->member = NULL;
	g.u.gone.id = m->rec.id;
	memcpy(g.u.gone.key, m->rec.key, WG_KEY_LEN);
	members_remove(&in->members, m);
	for (int k = 0; k < in->members.n; k++)
		if (by_conf || !in->members.live[k]->on_demand)
			send_msg(in, in->members.live[k], &g);
}

/* An endpoint of m's not heard from for a minute leaves its record: the
 * others stop punching toward it, and nothing more is sent there. Did
 * one? */
static bool forget_stale(struct introducer *in, struct member *m, enum member_index ix, uint64_t heard_ms,
			 uint64_t now)
{
	const struct wg_endpoint *ep = members_seen_ep(m, ix);

	if (!ep->addr.ss_family || now - heard_ms <= MEMBER_EXPIRE_MS)
		return false;
	members_set_seen(&in->members, m, ix, NULL);
	return true;
}

static void expire(struct introducer *in, uint64_t now)
{
	/* From the end: a member removed takes the last one's place, which
	 * was seen already. */
	for (int i = in->members.n - 1; i >= 0; i--) {
		struct member *m = in->members.live[i];
		bool changed = false;

		if (now - m->last_ms > MEMBER_EXPIRE_MS) {
			say("member %s (%s) expired: not heard from for %d s", m->rec.name, keystr(m->rec.key),
			    MEMBER_EXPIRE_MS / 1000);
			member_remove(in, m, false);
			continue;
		}
		/* Its IPv6 went away; or its IPv4 did while it registers over
		 * IPv6 (which keeps it a member): an address it proved once
		 * may be someone else's by now. */
		changed |= forget_stale(in, m, BY_SEEN6, m->seen6_ms, now);
		for (int v = 0; v < 2; v++)
			changed |= forget_stale(in, m, v ? BY_SEEN1 : BY_SEEN0, m->seen4_ms[v], now);
		/* A change held back (over the member's rate) goes out now. */
		if (m->change_pending && bucket_take(&m->changes, CHANGE_BURST, CHANGE_PER_S, now)) {
			m->change_pending = false;
			changed = true;
		}
		if (changed)
			announce(in, m);
	}
}

int introducer_reload(struct introducer *in, const struct introducer_conf *conf)
{
	bool same_secret = in->conf.has_join && conf->has_join && !sodium_memcmp(in->conf.join, conf->join, 32);
	int removed = 0;

	memcpy(in->conf.allow, conf->allow, sizeof(conf->allow));
	in->conf.n_allow = conf->n_allow;
	in->conf.has_join = conf->has_join;
	memcpy(in->conf.join, conf->join, sizeof(conf->join));
	in->conf.relay_rate = conf->relay_rate;
	for (int i = in->members.n - 1; i >= 0; i--) {
		struct member *m = in->members.live[i];
		const struct mesh_member_conf *listed;
		if ((listed = allowed(in, m->rec.key))) {
			m->by_join = false;
			continue;
		}
		if (m->by_join && same_secret)
			continue;
		say("member %s (%s) removed: %s", m->rec.name, keystr(m->rec.key),
		    m->by_join ? "the join secret changed or is gone" : "no longer in the allowlist");
		member_remove(in, m, true);
		removed++;
	}
	return removed;
}

#define STATS_LOG_MS 10000   /* the cheap checks' counters, logged at most this often */

void introducer_tick(struct introducer *in, uint64_t now)
{
	join_window(in, now);
	if (now - in->stats_log_ms >= STATS_LOG_MS) {
		/* What the cheap checks kept from the expensive one, when anything
		 * changed: a flood shows within STATS_LOG_MS, a line at a time. */
		if (memcmp(&in->stats, &in->stats_logged, sizeof(in->stats)))
			say("so far: %llu messages without a valid MAC dropped, %llu X25519s for unknown places, %llu over "
			    "their budget dropped, %llu PROVEs sent, %llu copies dropped, %llu COOKIEs sent, %llu REGISTERs "
			    "with a cookie",
			    (unsigned long long)in->stats.no_mac1, (unsigned long long)in->stats.x25519,
			    (unsigned long long)in->stats.x25519_limited, (unsigned long long)in->stats.proves,
			    (unsigned long long)in->stats.copies, (unsigned long long)in->stats.cookies,
			    (unsigned long long)in->stats.cookied);
		in->stats_logged = in->stats;
		in->stats_log_ms = now;
	}
	if (now - in->last_expire_ms >= 1000) {
		in->last_expire_ms = now;
		expire(in, now);
		for (int c = 0; c < MAX_CONNS; c++) {
			const struct conn *k = in->conns[c];
			if (k && (!k->member ? now - k->opened_ms > CONN_AUTH_MS : now - k->last_ms > CONN_IDLE_MS))
				conn_close(in, c);
		}
	}
}

const struct introducer_stats *introducer_stats(const struct introducer *in)
{
	return &in->stats;
}
