/* Member storage: a list of pointers for walking them, and one chained hash
 * table per thing a member is found by. The hash is SipHash under a key of
 * this process, so no one who chooses keys or source ports can make the
 * chains long. */
#include "members.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct wg_endpoint *members_seen_ep(struct member *m, enum member_index ix)
{
	return ix == BY_SEEN6 ? &m->rec.seen6 : &m->rec.seen[ix - BY_SEEN0];
}

static uint32_t hash_bytes(const struct member_table *t, enum member_index ix, const void *p, size_t len)
{
	uint8_t h[crypto_shorthash_BYTES], in[40];

	/* The index goes into the hash: a key and a token of the same bytes
	 * fall into unrelated buckets. */
	in[0] = (uint8_t)ix;
	memcpy(in + 1, p, len);
	crypto_shorthash(h, in, len + 1, t->hash_key);
	return ((uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24) & t->mask;
}

/* An endpoint's family, port and address, the bytes wg_endpoint_equal
 * compares. */
static size_t endpoint_bytes(const struct wg_endpoint *ep, uint8_t out[static 20])
{
	memset(out, 0, 20);
	if (ep->addr.ss_family == AF_INET) {
		memcpy(out, &ep->addr.in4.sin_port, 2);
		memcpy(out + 2, &ep->addr.in4.sin_addr, 4);
		return 6;
	}
	memcpy(out, &ep->addr.in6.sin6_port, 2);
	memcpy(out + 2, &ep->addr.in6.sin6_addr, 16);
	return 18;
}

static uint32_t member_hash(const struct member_table *t, const struct member *m, enum member_index ix)
{
	uint8_t b[20];

	switch (ix) {
	case BY_KEY:
		return hash_bytes(t, ix, m->rec.key, WG_KEY_LEN);
	case BY_ID:
		return hash_bytes(t, ix, &m->rec.id, sizeof(m->rec.id));
	case BY_TOKEN:
		return hash_bytes(t, ix, m->token, MESH_TOKEN_LEN);
	case BY_MESH4:
		return hash_bytes(t, ix, &m->rec.mesh4, sizeof(m->rec.mesh4));
	case BY_MESH6:
		return hash_bytes(t, ix, m->rec.mesh6, 16);
	case BY_SID:
		return hash_bytes(t, ix, m->sid, MESH_SID_LEN);
	default:
		return hash_bytes(t, ix, b, endpoint_bytes(members_seen_ep((struct member *)m, ix), b));
	}
}

static void link_in(struct member_table *t, struct member *m, enum member_index ix)
{
	uint32_t b = member_hash(t, m, ix);

	m->bucket[ix] = b;
	m->next[ix] = t->heads[ix][b];
	t->heads[ix][b] = m;
	m->indexed[ix] = true;
}

static void link_out(struct member_table *t, struct member *m, enum member_index ix)
{
	struct member **p;

	if (!m->indexed[ix])
		return;
	for (p = &t->heads[ix][m->bucket[ix]]; *p; p = &(*p)->next[ix])
		if (*p == m) {
			*p = m->next[ix];
			break;
		}
	m->next[ix] = NULL;
	m->indexed[ix] = false;
}

int members_init(struct member_table *t, int cap)
{
	uint32_t buckets = 64;

	memset(t, 0, sizeof(*t));
	while (buckets < (uint32_t)cap && buckets < (1u << 24))
		buckets <<= 1;
	t->cap = cap;
	t->mask = buckets - 1;
	crypto_shorthash_keygen(t->hash_key);
	if (!(t->live = calloc((size_t)cap, sizeof(*t->live))))
		goto err;
	for (int ix = 0; ix < MEMBER_INDEXES; ix++)
		if (!(t->heads[ix] = calloc(buckets, sizeof(*t->heads[ix]))))
			goto err;
	return 0;
err:
	members_free(t);
	return -ENOMEM;
}

static void member_wipe_free(struct member *m)
{
	sodium_memzero(m->shared, sizeof(m->shared));
	sodium_memzero(m->secret, sizeof(m->secret));
	sodium_memzero(&m->keys, sizeof(m->keys));
	free(m);
}

void members_free(struct member_table *t)
{
	for (int i = 0; i < t->n; i++)
		member_wipe_free(t->live[i]);
	free(t->live);
	for (int ix = 0; ix < MEMBER_INDEXES; ix++)
		free(t->heads[ix]);
	memset(t, 0, sizeof(*t));
}

struct member *members_add(struct member_table *t, const uint8_t key[static WG_KEY_LEN], uint32_t id,
			   const uint8_t token[static MESH_TOKEN_LEN], uint32_t mesh4, const uint8_t mesh6[static 16])
{
	struct member *m;

	if (t->n >= t->cap || !(m = calloc(1, sizeof(*m))))
		return NULL;
	memcpy(m->rec.key, key, WG_KEY_LEN);
	m->rec.id = id;
	memcpy(m->token, token, MESH_TOKEN_LEN);
	m->rec.mesh4 = mesh4;
	memcpy(m->rec.mesh6, mesh6, 16);
	m->conn = -1;
	for (int ix = BY_KEY; ix <= BY_MESH6; ix++)
		link_in(t, m, (enum member_index)ix);
	m->live_at = t->n;
	t->live[t->n++] = m;
	return m;
}

void members_remove(struct member_table *t, struct member *m)
{
	for (int ix = 0; ix < MEMBER_INDEXES; ix++)
		link_out(t, m, (enum member_index)ix);
	t->live[m->live_at] = t->live[--t->n];
	t->live[m->live_at]->live_at = m->live_at;
	t->live[t->n] = NULL;
	member_wipe_free(m);
}

/* The first member in ix's bucket for bytes p that match(m, p). */
static struct member *find(const struct member_table *t, enum member_index ix, const void *p, size_t len,
			   bool (*match)(const struct member *, enum member_index, const void *))
{
	if (!t->heads[ix])
		return NULL;
	for (struct member *m = t->heads[ix][hash_bytes(t, ix, p, len)]; m; m = m->next[ix])
		if (match(m, ix, p))
			return m;
	return NULL;
}

static bool key_is(const struct member *m, enum member_index ix, const void *p)
{
	(void)ix;
	return !memcmp(m->rec.key, p, WG_KEY_LEN);
}

static bool id_is(const struct member *m, enum member_index ix, const void *p)
{
	(void)ix;
	return !memcmp(&m->rec.id, p, sizeof(m->rec.id));
}

static bool token_is(const struct member *m, enum member_index ix, const void *p)
{
	(void)ix;
	return !sodium_memcmp(m->token, p, MESH_TOKEN_LEN);
}

static bool mesh4_is(const struct member *m, enum member_index ix, const void *p)
{
	(void)ix;
	return !memcmp(&m->rec.mesh4, p, sizeof(m->rec.mesh4));
}

static bool mesh6_is(const struct member *m, enum member_index ix, const void *p)
{
	(void)ix;
	return !memcmp(m->rec.mesh6, p, 16);
}

static bool sid_is(const struct member *m, enum member_index ix, const void *p)
{
	(void)ix;
	return m->has_sid && !sodium_memcmp(m->sid, p, MESH_SID_LEN);
}

static bool seen_is(const struct member *m, enum member_index ix, const void *p)
{
	return wg_endpoint_equal(members_seen_ep((struct member *)m, ix), p);
}

struct member *members_by_key(const struct member_table *t, const uint8_t key[static WG_KEY_LEN])
{
	return find(t, BY_KEY, key, WG_KEY_LEN, key_is);
}

struct member *members_by_id(const struct member_table *t, uint32_t id)
{
	return find(t, BY_ID, &id, sizeof(id), id_is);
}

struct member *members_by_token(const struct member_table *t, const uint8_t token[static MESH_TOKEN_LEN])
{
	return find(t, BY_TOKEN, token, MESH_TOKEN_LEN, token_is);
}

struct member *members_by_mesh4(const struct member_table *t, uint32_t mesh4)
{
	return find(t, BY_MESH4, &mesh4, sizeof(mesh4), mesh4_is);
}

struct member *members_by_mesh6(const struct member_table *t, const uint8_t mesh6[static 16])
{
	return find(t, BY_MESH6, mesh6, 16, mesh6_is);
}

struct member *members_by_sid(const struct member_table *t, const uint8_t sid[static MESH_SID_LEN])
{
	return find(t, BY_SID, sid, MESH_SID_LEN, sid_is);
}

void members_set_sid(struct member_table *t, struct member *m, const uint8_t sid[static MESH_SID_LEN])
{
	link_out(t, m, BY_SID);
	memcpy(m->sid, sid, MESH_SID_LEN);
	m->has_sid = true;
	link_in(t, m, BY_SID);
}

struct member *members_seen_at(const struct member_table *t, enum member_index ix, const struct wg_endpoint *ep)
{
	uint8_t b[20];
	size_t n;

	if (!ep->addr.ss_family || !t->heads[ix])
		return NULL;
	n = endpoint_bytes(ep, b);
	for (struct member *m = t->heads[ix][hash_bytes(t, ix, b, n)]; m; m = m->next[ix])
		if (seen_is(m, ix, ep))
			return m;
	return NULL;
}

void members_set_seen(struct member_table *t, struct member *m, enum member_index ix, const struct wg_endpoint *ep)
{
	struct wg_endpoint *at = members_seen_ep(m, ix);

	link_out(t, m, ix);
	memset(at, 0, sizeof(*at));
	if (ep && ep->addr.ss_family == AF_INET)
		at->addr.in4 = ep->addr.in4;
	else if (ep && ep->addr.ss_family == AF_INET6)
		at->addr.in6 = ep->addr.in6;
	if (at->addr.ss_family)
		link_in(t, m, ix);
}
