/* The introducer's members: each stored once, in its own allocation (a
 * pointer to it stays good until it is removed), and found in constant
 * time by its key, its id, its relay token, its mesh address or where it
 * registered from, so that no message costs a walk over ten thousand of
 * them (issue 17). */
#ifndef PL_INTRODUCER_MEMBERS_H
#define PL_INTRODUCER_MEMBERS_H

#include "../mesh/counter.h"
#include "../mesh/proto.h"
#include "../../lib/util/bucket.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>

/* What a member is found by. The three SEEN ones are where it registered
 * on our two IPv4 addresses and on our IPv6 one (rec.seen[0], rec.seen[1],
 * rec.seen6). */
enum member_index { BY_KEY, BY_ID, BY_TOKEN, BY_MESH4, BY_MESH6, BY_SID, BY_SEEN0, BY_SEEN1, BY_SEEN6, MEMBER_INDEXES };

struct member {
	struct mesh_peer_rec rec;
	uint8_t shared[32];
	uint8_t token[MESH_TOKEN_LEN];
	struct mesh_replay replay;  /* its control messages' counters */
	int conn;                  /* its TCP connection, or -1 */
	uint64_t last_ms;
	uint64_t seen6_ms;         /* when it last registered on our IPv6 address */
	uint64_t seen4_ms[2];      /* and on each IPv4 address (rec.seen[v] leaves a minute after) */
	struct bucket relay;       /* relay bytes it may still send */
	uint64_t session;          /* the agent process's, from its last REGISTER */
	struct bucket connects;    /* CONNECTs it may still make */
	bool by_join;              /* joined with the join secret, not the allowlist */
	uint64_t listed_ms;        /* when it was last sent the whole member list (0: never) */
	uint64_t listed_session;   /* and to which of its sessions */
	struct bucket x25519;      /* X25519s for messages from where it registered */
	bool on_demand;            /* asks for its peers (LOOKUP): no member list, no changes */
	/* Its session's keys (session messages, no X25519), made for the
	 * agent session sid_session; used for what we send once it has sent
	 * one (sid_heard: it has them). */
	uint8_t sid[MESH_SID_LEN];
	uint8_t secret[MESH_SECRET_LEN];
	struct mesh_session_keys keys;
	uint64_t sid_session;
	bool has_sid, sid_heard;
	struct bucket session_msgs;  /* session messages it may still send */
	struct bucket changes;     /* changes of its record that may still go out at once */
	bool change_pending;       /* one held back: out within a second */
	struct bucket lookups;     /* LOOKUPs it may still make */
	/* The table's own: */
	int live_at;               /* its place in the table's list */
	struct member *next[MEMBER_INDEXES];
	uint32_t bucket[MEMBER_INDEXES];
	bool indexed[MEMBER_INDEXES];
};

struct member_table {
	struct member **live;      /* the members, n of them, in no order */
	int n, cap;
	uint32_t mask;             /* buckets per index, less one */
	struct member **heads[MEMBER_INDEXES];
	uint8_t hash_key[crypto_shorthash_KEYBYTES];
};

/* A table for at most cap members: 0 or -ENOMEM. */
int members_init(struct member_table *t, int cap);
/* Frees every member (their shared keys wiped) and the table. */
void members_free(struct member_table *t);
/* A new member with key, id, token and mesh addresses as given (and
 * indexed by them), every other field zero and conn -1; NULL when the
 * table is full or memory is out. The table owns it. */
struct member *members_add(struct member_table *t, const uint8_t key[static WG_KEY_LEN], uint32_t id,
			   const uint8_t token[static MESH_TOKEN_LEN], uint32_t mesh4, const uint8_t mesh6[static 16]);
/* Out of the table and freed (its shared key wiped). Pointers to it die. */
void members_remove(struct member_table *t, struct member *m);
struct member *members_by_key(const struct member_table *t, const uint8_t key[static WG_KEY_LEN]);
struct member *members_by_id(const struct member_table *t, uint32_t id);
struct member *members_by_token(const struct member_table *t, const uint8_t token[static MESH_TOKEN_LEN]);
struct member *members_by_mesh4(const struct member_table *t, uint32_t mesh4);
struct member *members_by_mesh6(const struct member_table *t, const uint8_t mesh6[static 16]);
/* A member registered from ep on our address ix (BY_SEEN0, BY_SEEN1 or
 * BY_SEEN6); NULL: none. */
struct member *members_seen_at(const struct member_table *t, enum member_index ix, const struct wg_endpoint *ep);
struct member *members_by_sid(const struct member_table *t, const uint8_t sid[static MESH_SID_LEN]);
/* m's session id becomes sid (indexed). */
void members_set_sid(struct member_table *t, struct member *m, const uint8_t sid[static MESH_SID_LEN]);
/* Where m registered on our address ix (BY_SEEN0, BY_SEEN1, BY_SEEN6). */
struct wg_endpoint *members_seen_ep(struct member *m, enum member_index ix);
/* m's endpoint on address ix becomes ep (family 0: none), in the index too. */
void members_set_seen(struct member_table *t, struct member *m, enum member_index ix, const struct wg_endpoint *ep);

#endif
