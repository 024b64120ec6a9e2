/* Control message counters on a fake clock: fresh for hours, strictly
 * increasing across clock steps, old messages refused, restarted senders
 * accepted again, and the replay window against a slow twin. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "mesh/counter.h"

#define S 1000000000ULL                       /* one second in ns */
#define BEHIND (10 * S + 3700000ULL)          /* a clock 10 s and 3.7 ms behind */
#define T0 (1796000000ULL * S + 123456789ULL) /* a wall clock in 2026 */

/* What a receiver does with a message: fresh, then new. */
static bool receive(struct mesh_replay *r, uint64_t counter, uint64_t now_ns)
{
	return mesh_counter_fresh(counter, now_ns, MESH_COUNTER_SKEW_S) && mesh_replay_check(r, counter);
}

static void counters_stay_fresh_for_hours_of_virtual_time(void **state)
{
	struct mesh_counter c = { 0 };
	struct mesh_replay r;
	uint64_t now = T0;
	int accepted = 0;

	(void)state;
	mesh_replay_init(&r);
	/* Six hours: a ping a second, and bursts of ten within a millisecond
	 * (a punching round), each accepted once. */
	for (int s = 0; s < 6 * 3600; s++, now += S) {
		accepted += receive(&r, mesh_counter_next(&c, now), now);
		if (s % 600 == 0)
			for (int k = 0; k < 10; k++)
				accepted += receive(&r, mesh_counter_next(&c, now + 1000 + (uint64_t)k * 100), now + 1000);
	}
	assert_int_equal(accepted, 6 * 3600 + 36 * 10);
	/* The counter says when it was sent (the defect: it said when the
	 * process started, and went stale two minutes later). */
	assert_int_equal(mesh_counter_seconds(c.last), (now - S) / S);
}

static void a_message_older_than_the_skew_is_refused(void **state)
{
	struct mesh_counter c = { 0 };
	uint64_t sent = mesh_counter_next(&c, T0);

	(void)state;
	assert_true(mesh_counter_fresh(sent, T0 + 119 * S, MESH_COUNTER_SKEW_S));
	assert_false(mesh_counter_fresh(sent, T0 + 121 * S, MESH_COUNTER_SKEW_S));
	assert_false(mesh_counter_fresh(sent, T0 + 3600 * S, MESH_COUNTER_SKEW_S));
	/* From a clock far ahead, too. */
	assert_false(mesh_counter_fresh(sent, T0 - 121 * S, MESH_COUNTER_SKEW_S));
	/* Fresh but a repeat: refused by the window. */
	{
		struct mesh_replay r;
		mesh_replay_init(&r);
		assert_true(receive(&r, sent, T0 + S));
		assert_false(receive(&r, sent, T0 + S));
		/* A copy: no RESYNC is owed to whoever sent it. */
		assert_true(mesh_replay_holds(&r, sent));
	}
}

static void counters_increase_strictly_across_a_clock_step_back(void **state)
{
	struct mesh_counter c = { 0 };
	uint64_t last = 0, now = T0;

	(void)state;
	for (int i = 0; i < 100; i++, now += S / 10) {
		uint64_t k = mesh_counter_next(&c, now);
		assert_true(k > last);
		last = k;
	}
	/* The clock steps back 10 s, then forward an hour: still increasing. */
	now -= 10 * S;
	for (int i = 0; i < 200; i++, now += S / 10) {
		uint64_t k = mesh_counter_next(&c, now);
		assert_true(k > last);
		last = k;
	}
	now += 3600 * S;
	assert_true(mesh_counter_next(&c, now) > last);
	assert_int_equal(mesh_counter_seconds(c.last), now / S);
	/* The same instant twice: still increasing. */
	last = mesh_counter_next(&c, now);
	assert_true(mesh_counter_next(&c, now) > last);
}

static void a_sender_restarted_twice_within_one_second_is_accepted_at_once(void **state)
{
	struct mesh_replay r;
	uint64_t now = T0;

	(void)state;
	mesh_replay_init(&r);
	for (int life = 0; life < 3; life++) {
		struct mesh_counter c = { 0 };   /* a new process: nothing remembered */
		/* Fifty messages within 200 ms, then it restarts 100 ms later. */
		for (int i = 0; i < 50; i++, now += 4000000ULL)
			assert_true(receive(&r, mesh_counter_next(&c, now), now));
		now += 100000000ULL;
	}
	assert_true(now - T0 < S);
}

static void a_sender_restarted_after_a_clock_step_back_is_accepted_after_one_resync(void **state)
{
	struct mesh_counter old = { 0 }, c = { 0 };
	struct mesh_replay r;
	uint64_t now = T0, refused;

	(void)state;
	mesh_replay_init(&r);
	/* Ten messages a second for 20 s (a punching round's pace): the
	 * window's 32 slots hold the last 3.2 s of them. */
	for (int i = 0; i < 200; i++, now += S / 10)
		assert_true(receive(&r, mesh_counter_next(&old, now), now));
	/* The sender restarts with its clock 10 s behind the receiver's (and
	 * a few ms off the old stream's instants). */
	refused = mesh_counter_next(&c, now - BEHIND);
	assert_false(receive(&r, refused, now));
	assert_true(mesh_counter_fresh(refused, now, MESH_COUNTER_SKEW_S));
	assert_false(mesh_replay_holds(&r, refused));   /* not a copy: a RESYNC is owed */
	/* The receiver says how far it holds (once a second at most) ... */
	assert_true(mesh_replay_resync_due(&r, 5000));
	assert_false(mesh_replay_resync_due(&r, 5500));
	assert_true(mesh_replay_resync_due(&r, 6000));
	/* ... and the sender's next message, a ping interval later, counts. */
	assert_true(mesh_counter_resync(&c, mesh_replay_newest(&r), now - BEHIND));
	now += S;
	assert_true(receive(&r, mesh_counter_next(&c, now - BEHIND), now));
	/* And its later ones too, while its clock catches up and after. */
	for (int i = 0; i < 30; i++, now += S)
		assert_true(receive(&r, mesh_counter_next(&c, now - BEHIND), now));
}

static void a_resync_never_moves_a_counter_back_or_far_ahead(void **state)
{
	struct mesh_counter c = { 0 };
	uint64_t k = mesh_counter_next(&c, T0);

	(void)state;
	assert_false(mesh_counter_resync(&c, k - 1, T0));
	assert_int_equal(c.last, k);
	/* Beyond the skew ahead of our clock: no receiver could hold it. */
	assert_false(mesh_counter_resync(&c, (T0 / S + MESH_COUNTER_SKEW_S + 2) << 32, T0));
	assert_int_equal(c.last, k);
	assert_true(mesh_counter_resync(&c, (T0 / S + 30) << 32, T0));
	assert_true(mesh_counter_next(&c, T0) > (T0 / S + 30) << 32);
}

/* The slow twin: every accepted counter kept; a counter is new if it was
 * never accepted and is above the 33rd newest accepted (the window holds
 * the 32 newest). */
struct twin {
	uint64_t *all;
	int n;
};

static bool twin_check(struct twin *t, uint64_t counter)
{
	int at = 0;

	/* t->all is kept newest first. */
	while (at < t->n && t->all[at] > counter)
		at++;
	if (at < t->n && t->all[at] == counter)
		return false;
	if (t->n > MESH_REPLAY_SLOTS && counter <= t->all[MESH_REPLAY_SLOTS])
		return false;
	memmove(t->all + at + 1, t->all + at, (size_t)(t->n - at) * sizeof(t->all[0]));
	t->all[at] = counter;
	t->n++;
	return true;
}

static void the_replay_window_agrees_with_a_slow_twin_on_random_input(void **state)
{
	enum { N = 6000 };
	struct twin t = { calloc(N, sizeof(uint64_t)), 0 };
	struct mesh_replay r;
	uint64_t sent[N];
	int n_sent = 0, accepted = 0;

	(void)state;
	assert_non_null(t.all);
	srandom(4787);
	mesh_replay_init(&r);
	/* A sender's stream, delivered reordered, duplicated and replayed. */
	for (int i = 0; i < N; i++) {
		uint64_t c;
		long pick = random() % 10;
		if (pick < 6 || n_sent == 0) {
			c = (uint64_t)(1000 + i) << 20 | (uint64_t)(random() % 1000);
			sent[n_sent++] = c;
		} else if (pick < 9) {
			c = sent[n_sent - 1 - random() % (n_sent < 40 ? n_sent : 40)];   /* recent: reordered or a repeat */
		} else {
			c = sent[random() % n_sent];                                      /* anything old */
		}
		{
			bool want = twin_check(&t, c), got = mesh_replay_check(&r, c);
			assert_int_equal(got, want);
			accepted += got;
		}
	}
	/* Both outcomes were exercised. */
	assert_true(accepted > N / 3 && accepted < N);
	free(t.all);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(counters_stay_fresh_for_hours_of_virtual_time),
		cmocka_unit_test(a_message_older_than_the_skew_is_refused),
		cmocka_unit_test(counters_increase_strictly_across_a_clock_step_back),
		cmocka_unit_test(a_sender_restarted_twice_within_one_second_is_accepted_at_once),
		cmocka_unit_test(a_sender_restarted_after_a_clock_step_back_is_accepted_after_one_resync),
		cmocka_unit_test(a_resync_never_moves_a_counter_back_or_far_ahead),
		cmocka_unit_test(the_replay_window_agrees_with_a_slow_twin_on_random_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
