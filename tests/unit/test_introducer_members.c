/* The introducer's member table against a slow obvious twin (a plain list
 * searched from end to end) on random adds, removals, moves and lookups. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "introducer/members.h"
#include "twin_rng.h"

/* Endpoints from a small set, so that members share them. */
static struct wg_endpoint random_endpoint(void)
{
	struct wg_endpoint ep;
	uint64_t r = rnd();

	memset(&ep, 0, sizeof(ep));
	if (r % 7 == 0)
		return ep;   /* none */
	if (r % 3 == 0) {
		ep.addr.in6.sin6_family = AF_INET6;
		ep.addr.in6.sin6_port = htons((uint16_t)(40000 + (r >> 8) % 5));
		ep.addr.in6.sin6_addr.s6_addr[0] = 0x20;
		ep.addr.in6.sin6_addr.s6_addr[15] = (uint8_t)((r >> 16) % 4);
	} else {
		ep.addr.in4.sin_family = AF_INET;
		ep.addr.in4.sin_port = htons((uint16_t)(40000 + (r >> 8) % 5));
		ep.addr.in4.sin_addr.s_addr = htonl(0xc6336400u + (uint32_t)((r >> 16) % 4));
	}
	return ep;
}

static const struct wg_endpoint *seen(const struct member *m, enum member_index ix)
{
	return ix == BY_SEEN6 ? &m->rec.seen6 : &m->rec.seen[ix - BY_SEEN0];
}

/* The twin's lookups: the members, searched one by one. */
static bool any_seen(const struct member_table *t, enum member_index ix, const struct wg_endpoint *ep)
{
	for (int i = 0; i < t->n; i++)
		if (ep->addr.ss_family && wg_endpoint_equal(seen(t->live[i], ix), ep))
			return true;
	return false;
}

static struct member *twin_by(const struct member_table *t, enum member_index ix, const void *p)
{
	for (int i = 0; i < t->n; i++) {
		struct member *m = t->live[i];
		if ((ix == BY_KEY && !memcmp(m->rec.key, p, WG_KEY_LEN)) || (ix == BY_ID && m->rec.id == *(const uint32_t *)p) ||
		    (ix == BY_TOKEN && !memcmp(m->token, p, MESH_TOKEN_LEN)) ||
		    (ix == BY_MESH4 && m->rec.mesh4 == *(const uint32_t *)p) || (ix == BY_MESH6 && !memcmp(m->rec.mesh6, p, 16)))
			return m;
	}
	return NULL;
}

static void member_table_agrees_with_a_list(void **state)
{
	enum { CAP = 300, STEPS = 20000 };
	struct member_table t;
	uint32_t next_id = 1;

	(void)state;
	assert_int_equal(members_init(&t, CAP), 0);
	for (int step = 0; step < STEPS; step++) {
		uint64_t r = rnd();
		struct member *m = t.n ? t.live[rnd() % (uint64_t)t.n] : NULL;

		if (r % 4 == 0 || !m) {
			uint8_t key[WG_KEY_LEN], token[MESH_TOKEN_LEN], mesh6[16] = { 0xfd };
			for (int i = 0; i < WG_KEY_LEN; i++)
				key[i] = (uint8_t)rnd();
			for (int i = 0; i < MESH_TOKEN_LEN; i++)
				token[i] = (uint8_t)rnd();
			mesh6[15] = (uint8_t)rnd();   /* often shared: the lookup must tell them apart */
			struct member *n = members_add(&t, key, next_id, token, (uint32_t)rnd(), mesh6);
			if (t.n == CAP && !n)
				continue;
			assert_non_null(n);
			next_id++;
			assert_int_equal(n->conn, -1);
			assert_ptr_equal(members_by_key(&t, key), n);
		} else if (r % 4 == 1) {
			members_remove(&t, m);
		} else if (r % 4 == 2) {
			struct wg_endpoint ep = random_endpoint();
			enum member_index ix = (enum member_index)(BY_SEEN0 + (int)(rnd() % 3));
			members_set_seen(&t, m, ix, &ep);
			assert_true(wg_endpoint_equal(seen(m, ix), &ep));
		} else {
			/* Lookups of what is there and of what is not. */
			uint8_t other[WG_KEY_LEN] = { 0 };
			uint32_t id = (uint32_t)(rnd() % (next_id + 5)), mesh4 = m->rec.mesh4;
			assert_ptr_equal(members_by_key(&t, m->rec.key), m);
			assert_ptr_equal(members_by_token(&t, m->token), m);
			assert_ptr_equal(members_by_mesh4(&t, mesh4), twin_by(&t, BY_MESH4, &mesh4));
			assert_ptr_equal(members_by_id(&t, id), twin_by(&t, BY_ID, &id));
			uint8_t mesh6[16] = { 0xfd };
			mesh6[15] = (uint8_t)rnd();
			struct member *f6 = members_by_mesh6(&t, mesh6);
			assert_int_equal(f6 != NULL, twin_by(&t, BY_MESH6, mesh6) != NULL);
			if (f6)
				assert_memory_equal(f6->rec.mesh6, mesh6, 16);
			other[0] = (uint8_t)rnd();
			assert_ptr_equal(members_by_key(&t, other), twin_by(&t, BY_KEY, other));
			for (int ix = BY_SEEN0; ix <= BY_SEEN6; ix++) {
				struct wg_endpoint ep = random_endpoint();
				struct member *f = members_seen_at(&t, (enum member_index)ix, &ep);
				assert_int_equal(f != NULL, any_seen(&t, (enum member_index)ix, &ep));
				if (f)
					assert_true(wg_endpoint_equal(seen(f, (enum member_index)ix), &ep));
			}
		}
		for (int i = 0; i < t.n; i++)
			assert_int_equal(t.live[i]->live_at, i);
	}
	members_free(&t);
}

static void member_table_refuses_past_its_capacity(void **state)
{
	struct member_table t;
	uint8_t key[WG_KEY_LEN] = { 0 }, token[MESH_TOKEN_LEN] = { 0 }, mesh6[16] = { 0 };

	(void)state;
	assert_int_equal(members_init(&t, 3), 0);
	for (int i = 0; i < 3; i++) {
		key[0] = (uint8_t)i;
		assert_non_null(members_add(&t, key, (uint32_t)i + 1, token, (uint32_t)i, mesh6));
	}
	key[0] = 9;
	assert_null(members_add(&t, key, 9, token, 9, mesh6));
	members_remove(&t, t.live[0]);
	assert_non_null(members_add(&t, key, 9, token, 9, mesh6));
	assert_int_equal(t.n, 3);
	members_free(&t);
}

int main(void)
{
	rng_state = 0x2545F4914F6CDD1DULL;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(member_table_agrees_with_a_list),
		cmocka_unit_test(member_table_refuses_past_its_capacity),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
