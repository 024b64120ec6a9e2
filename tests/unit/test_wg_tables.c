/* Replay window and allowed IPs, each against a slow obvious twin on random
 * input, plus the edge cases. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wg/allowedips.h"
#include "wg/replay.h"
#include "twin_rng.h"

static void replay_window_edges(void **state)
{
	struct wg_replay r;

	(void)state;
	wg_replay_init(&r);
	assert_true(wg_replay_check(&r, 0));
	assert_false(wg_replay_check(&r, 0));
	assert_true(wg_replay_check(&r, 1));
	assert_true(wg_replay_check(&r, 5000));
	/* 5000 - window is the oldest still accepted. */
	assert_true(wg_replay_check(&r, 5000 - WG_REPLAY_WINDOW + 1));
	assert_false(wg_replay_check(&r, 5000 - WG_REPLAY_WINDOW - 1));
	assert_false(wg_replay_check(&r, 1));
	assert_true(wg_replay_check(&r, 4999));
	assert_false(wg_replay_check(&r, 4999));
	/* A jump far ahead forgets everything behind the window. */
	assert_true(wg_replay_check(&r, 1000000));
	assert_false(wg_replay_check(&r, 5000));
	assert_true(wg_replay_check(&r, 999999));
	/* The limit. */
	assert_false(wg_replay_check(&r, WG_REJECT_AFTER_MESSAGES));
	assert_true(wg_replay_check(&r, WG_REJECT_AFTER_MESSAGES - 1));
	assert_false(wg_replay_check(&r, WG_REJECT_AFTER_MESSAGES - 1));
}

/* The twin: a plain list of seen counters and the same window rule. */
static void replay_window_agrees_with_a_set(void **state)
{
	enum { N = 20000 };
	static uint64_t seen[N];
	struct wg_replay r;
	uint64_t next = 0, base = 0;
	int n_seen = 0;

	(void)state;
	wg_replay_init(&r);
	for (int i = 0; i < N; i++) {
		uint64_t c;
		bool want = true, got;

		switch (rnd() % 4) {
		case 0: c = base + rnd() % 64; break;             /* in order, a little jitter */
		case 1: c = base > 3000 ? base - rnd() % 3000 : 0; break; /* late, maybe too late */
		case 2: c = n_seen ? seen[rnd() % (uint64_t)n_seen] : 0; break; /* a replay */
		default: c = base + rnd() % 5000; break;          /* a jump */
		}
		if (c + WG_REPLAY_WINDOW < next)
			want = false;
		for (int k = 0; k < n_seen && want; k++)
			if (seen[k] == c)
				want = false;
		got = wg_replay_check(&r, c);
		if (got != want)
			fail_msg("step %d counter %llu: window says %d, twin says %d", i, (unsigned long long)c, got, want);
		if (want) {
			seen[n_seen++] = c;
			if (c + 1 > next)
				next = c + 1;
		}
		base = next;
	}
}

struct prefix {
	int family;
	uint8_t addr[16];
	uint8_t cidr;
	void *peer;
};

static bool prefix_match(const struct prefix *p, const uint8_t *addr)
{
	for (unsigned i = 0; i < p->cidr; i++)
		if (((p->addr[i / 8] ^ addr[i / 8]) >> (7 - i % 8)) & 1)
			return false;
	return true;
}

/* The twin: longest match over a list, the newest insert winning a tie. */
static void *linear_lookup(const struct prefix *list, int n, int family, const uint8_t *addr)
{
	void *best = NULL;
	int best_len = -1;

	for (int i = 0; i < n; i++)
		if (list[i].family == family && list[i].peer && prefix_match(&list[i], addr) && list[i].cidr >= best_len) {
			best = list[i].peer;
			best_len = list[i].cidr;
		}
	return best;
}

static void allowed_ips_agree_with_a_linear_scan(void **state)
{
	enum { PREFIXES = 600, LOOKUPS = 20000 };
	static struct prefix list[PREFIXES];
	static int peers[8];
	struct wg_allowedips t;

	(void)state;
	wg_allowedips_init(&t);
	for (int i = 0; i < PREFIXES; i++) {
		struct prefix *p = &list[i];
		unsigned bits;

		p->family = rnd() % 2 ? 4 : 6;
		bits = p->family == 4 ? 32 : 128;
		/* Few distinct high bits, so prefixes nest and collide. */
		for (int b = 0; b < 16; b++)
			p->addr[b] = (uint8_t)(b < 2 ? rnd() % 4 : rnd());
		p->cidr = (uint8_t)(rnd() % (bits + 1));
		for (unsigned b = p->cidr; b < 128; b++)
			p->addr[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
		p->peer = &peers[rnd() % 8];
		/* The same prefix again moves it to the new peer (twin: newest wins). */
		for (int k = 0; k < i; k++)
			if (list[k].family == p->family && list[k].cidr == p->cidr && !memcmp(list[k].addr, p->addr, 16))
				list[k].peer = NULL;
		assert_int_equal(wg_allowedips_insert(&t, p->family, p->addr, p->cidr, p->peer), 0);
		if (i == PREFIXES / 2) {
			/* Remove one peer halfway. */
			wg_allowedips_remove_peer(&t, &peers[3]);
			for (int k = 0; k <= i; k++)
				if (list[k].peer == &peers[3])
					list[k].peer = NULL;
		}
	}
	for (int i = 0; i < LOOKUPS; i++) {
		int family = rnd() % 2 ? 4 : 6;
		uint8_t addr[16];

		for (int b = 0; b < 16; b++)
			addr[b] = (uint8_t)(b < 2 ? rnd() % 4 : rnd());
		if (i % 3 == 0) /* land inside a known prefix half the time */
			memcpy(addr, list[rnd() % PREFIXES].addr, 4);
		assert_ptr_equal(wg_allowedips_lookup(&t, family, addr), linear_lookup(list, PREFIXES, family, addr));
	}
	wg_allowedips_free(&t);
}

static void allowed_ips_basics(void **state)
{
	struct wg_allowedips t;
	int a, b;
	uint8_t net[16], host[16];

	(void)state;
	wg_allowedips_init(&t);
	inet_pton(AF_INET, "10.0.0.0", net);
	assert_int_equal(wg_allowedips_insert(&t, 4, net, 8, &a), 0);
	inet_pton(AF_INET, "10.1.0.0", net);
	assert_int_equal(wg_allowedips_insert(&t, 4, net, 16, &b), 0);
	inet_pton(AF_INET, "10.1.2.3", host);
	assert_ptr_equal(wg_allowedips_lookup(&t, 4, host), &b);
	inet_pton(AF_INET, "10.2.2.3", host);
	assert_ptr_equal(wg_allowedips_lookup(&t, 4, host), &a);
	inet_pton(AF_INET, "11.0.0.1", host);
	assert_null(wg_allowedips_lookup(&t, 4, host));
	inet_pton(AF_INET6, "fd00::", net);
	assert_int_equal(wg_allowedips_insert(&t, 6, net, 48, &a), 0);
	inet_pton(AF_INET6, "fd00::1", host);
	assert_ptr_equal(wg_allowedips_lookup(&t, 6, host), &a);
	assert_int_equal(wg_allowedips_insert(&t, 4, net, 33, &a), -EINVAL);
	wg_allowedips_remove_peer(&t, &b);
	inet_pton(AF_INET, "10.1.2.3", host);
	assert_ptr_equal(wg_allowedips_lookup(&t, 4, host), &a);
	wg_allowedips_free(&t);
}

int main(void)
{
	rng_state = 0x9E3779B97F4A7C15ULL;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(replay_window_edges),
		cmocka_unit_test(replay_window_agrees_with_a_set),
		cmocka_unit_test(allowed_ips_basics),
		cmocka_unit_test(allowed_ips_agree_with_a_linear_scan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
