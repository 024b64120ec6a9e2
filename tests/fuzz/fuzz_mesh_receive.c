/* libFuzzer: the mesh's stateful receive paths, the real handlers, in the
 * simulated internet of the unit tests (tests/sim): an introducer and two
 * agents up and introduced, then the input's messages, each delivered to
 * the introducer (UDP, either address) or to agent a (UDP) from one of a
 * few places, with simulated time passing between them. A message is
 * sealed for real (version 3, with the receiver's MAC) in the name of a,
 * b, the introducer or a stranger, its body whatever the input says that
 * parses as the type it names, so the handlers past the crypto are
 * reached; or it goes raw. Nothing may crash, and the mesh must still be
 * two members at most. Each record: where (bits 0-1: introducer 0,
 * introducer 1, agent a; bit 2: raw; bit 3: over IPv6, to the
 * introducer's IPv6 address or to a from an IPv6 place; bit 4: to the
 * introducer in COOKIED with a cookie it never made, to a as a COOKIE
 * under the introducer's key), who (0-3), from (0-3), type, body
 * length, milliseconds to pass (x 10), then the body. */
#include "tests/sim/sim.h"

#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct sim_nat cone = { .mapping = SIM_EIM, .filtering = SIM_EIF };
static uint64_t reached_opened;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sim S;
	static uint8_t stranger_priv[32] = { 7 };
	uint8_t priv[4][32], pub[4][32], to_pub[32], shared[32], wire[MESH_MAX_PROBE];
	struct mesh_counter counter[4];
	struct wg_endpoint from[4], from6[4], intro[2];
	size_t i = 0;
	int a, b;

	sim_init(&S, NULL);
	a = sim_add_agent(&S, "a", &cone);
	b = sim_add_agent(&S, "b", &cone);
	sim_start_agent(&S, a);
	sim_start_agent(&S, b);
	sim_run(&S, 3000);
	memcpy(priv[0], S.agents[a].conf.private_key, 32);
	memcpy(priv[1], S.agents[b].conf.private_key, 32);
	memcpy(priv[2], S.intro_priv, 32);
	memcpy(priv[3], stranger_priv, 32);
	for (int k = 0; k < 4; k++) {
		crypto_scalarmult_base(pub[k], priv[k]);
		memset(&counter[k], 0, sizeof(counter[k]));
	}
	wg_endpoint_parse("203.0.113.10:3478", &intro[0]);
	wg_endpoint_parse("203.0.113.11:3478", &intro[1]);
	from[0] = S.agents[b].a.peers[0].used ? S.agents[b].a.peers[0].rec.seen[0] : intro[0]; /* where a is seen */
	from[1] = S.agents[a].a.peers[0].used ? S.agents[a].a.peers[0].rec.seen[0] : intro[0]; /* where b is seen */
	from[2] = intro[0];
	wg_endpoint_parse("198.51.100.9:4000", &from[3]);
	for (int k = 0; k < 4; k++) {
		char text[48];
		snprintf(text, sizeof(text), "[2001:db8:0:%d::2]:%d", k + 1, 4000 + k);
		wg_endpoint_parse(text, &from6[k]);
	}
	while (i + 6 <= size) {
		const uint8_t *h = data + i;
		size_t n = h[4];
		int where = h[0] & 3, who = h[1] & 3;
		struct mesh_msg m;
		char why[160];
		int len;
		i += 6;
		if (i + n > size)
			break;
		if (where == 3)
			where = 2;
		memcpy(to_pub, where < 2 ? pub[2] : pub[0], 32);
		if (h[0] & 4 || mesh_msg_decode(h[3], data + i, n, &m, why, sizeof(why))) {
			memcpy(wire, data + i, n);
			len = (int)n;
		} else {
			memcpy(m.sender, pub[who], 32);
			m.counter = mesh_counter_next(&counter[who], sim_wall_ns(&S));
			if (who == 2 && S.agents[a].up)
				m.session = S.agents[a].a.session;
			if (mesh_shared_key(shared, to_pub, priv[who]) ||
			    (len = mesh_seal(&m, to_pub, shared, wire, sizeof(wire))) < 0)
				len = 0;
			reached_opened++;
		}
		i += n;
		if (len > 0 && h[0] & 16 && where < 2) {
			/* In COOKIED, with a cookie the introducer never made
			 * (or the bytes as they are, raw): read as without one. */
			static const uint8_t no_cookie[MESH_COOKIE_LEN];
			int w = mesh_cookied_wrap(wire, sizeof(wire), wire, (size_t)len, no_cookie);
			len = w > 0 ? w : len;
		} else if (len > 0 && h[0] & 16 && where == 2) {
			/* A COOKIE to a, under the introducer's key, the body's
			 * first bytes its cookie, answering one of a's last
			 * REGISTERs to the introducer's first address (which one:
			 * the step's byte). */
			uint8_t key[32], cookie[MESH_COOKIE_LEN] = { 0 };
			memcpy(cookie, data + i - n, n < sizeof(cookie) ? n : sizeof(cookie));
			mesh_cookie_key(key, pub[2]);
			len = mesh_cookie_build(wire, sizeof(wire), key, cookie,
						S.agents[a].a.reg_mac1[0][h[5] % AGENT_COOKIE_ASKS]);
		}
		if (len > 0) {
			const struct wg_endpoint *src = h[0] & 8 ? &from6[h[2] & 3] : &from[h[2] & 3];
			if (where < 2 && S.intro_up)
				introducer_receive(S.intro, h[0] & 8 ? MESH_VIA_UDP6 : where, src, wire, (size_t)len, S.now);
			else if (where == 2 && S.agents[a].up)
				agent_receive(&S.agents[a].a, S.agents[a].a.udp, src, wire, (size_t)len, S.now);
		}
		sim_run(&S, (uint64_t)h[5] * 10);
	}
	if (S.intro_up && sim_members(&S) > 2)
		abort();
	sim_free(&S);
	return 0;
}

__attribute__((destructor)) static void said(void)
{
	fprintf(stderr, "fuzz_mesh_receive reached: %llu messages sealed for real\n", (unsigned long long)reached_opened);
}
