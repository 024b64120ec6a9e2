/* BLAKE2s, HMAC, KDF and the WireGuard handshake against independent
 * sources: RFC 7693's vector, and tests/data/wg/vectors.h made by
 * tests/data/wg/gen_vectors.py (Python hashlib and python3-cryptography). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "tests/data/wg/vectors.h"
#include "wg/blake2s.h"
#include "wg/noise.h"

static void blake2s_abc_matches_rfc7693(void **state)
{
	/* RFC 7693 Appendix B. */
	static const uint8_t want[32] = { 0x50, 0x8C, 0x5E, 0x8C, 0x32, 0x7C, 0x14, 0xE2, 0xE1, 0xA7, 0x2B,
					  0xA3, 0x4E, 0xEB, 0x45, 0x2F, 0x37, 0x45, 0x8B, 0x20, 0x9E, 0xD6,
					  0x3A, 0x29, 0x4D, 0x99, 0x9B, 0x4C, 0x86, 0x67, 0x59, 0x82 };
	uint8_t out[32];

	(void)state;
	blake2s(out, 32, NULL, 0, (const uint8_t *)"abc", 3);
	assert_memory_equal(out, want, 32);
}

static void blake2s_matches_python_on_every_length_and_key(void **state)
{
	uint8_t in[256], key[32], out[32];

	(void)state;
	for (int i = 0; i < 256; i++)
		in[i] = (uint8_t)i;
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	for (size_t v = 0; v < sizeof(v_blake2s) / sizeof(v_blake2s[0]); v++) {
		const struct b2_vector *t = &v_blake2s[v];
		blake2s(out, t->outlen, key, t->keylen, in, t->len);
		if (memcmp(out, t->out, t->outlen))
			fail_msg("len %u key %u out %u differs", t->len, t->keylen, t->outlen);
	}
}

static void blake2s_streaming_equals_one_shot(void **state)
{
	uint8_t in[300], a[32], b[32];
	struct blake2s_state s;

	(void)state;
	randombytes_buf(in, sizeof(in));
	blake2s(a, 32, NULL, 0, in, sizeof(in));
	for (size_t split = 0; split <= sizeof(in); split += 7) {
		blake2s_init(&s, 32, NULL, 0);
		blake2s_update(&s, in, split);
		blake2s_update(&s, in + split, sizeof(in) - split);
		blake2s_final(&s, b);
		assert_memory_equal(a, b, 32);
	}
}

static void hmac_and_kdf_match_python(void **state)
{
	uint8_t in[256], key[80], out[32], k1[32], k2[32], k3[32];

	(void)state;
	for (int i = 0; i < 256; i++)
		in[i] = (uint8_t)i;
	for (int i = 0; i < 80; i++)
		key[i] = (uint8_t)i;
	for (size_t v = 0; v < sizeof(v_hmac) / sizeof(v_hmac[0]); v++) {
		blake2s_hmac(out, key, v_hmac[v].keylen, in, v_hmac[v].len);
		if (memcmp(out, v_hmac[v].out, 32))
			fail_msg("hmac len %u key %u differs", v_hmac[v].len, v_hmac[v].keylen);
	}
	wg_kdf(k1, k2, k3, v_kdf_ck, (const uint8_t *)"input keying material", 21);
	assert_memory_equal(k1, v_kdf_1, 32);
	assert_memory_equal(k2, v_kdf_2, 32);
	assert_memory_equal(k3, v_kdf_3, 32);
}

static struct wg_identity id_i, id_r;
static struct wg_handshake hs_i, hs_r;

static int setup_peers(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	if (wg_identity_init(&id_i, v_static_i) || wg_identity_init(&id_r, v_static_r))
		return -1;
	if (wg_handshake_init(&hs_i, &id_i, id_r.public_key, v_psk) ||
	    wg_handshake_init(&hs_r, &id_r, id_i.public_key, v_psk))
		return -1;
	return 0;
}

static void initiation_bytes_match_the_independent_generator(void **state)
{
	uint8_t msg[WG_INITIATION_LEN];

	(void)state;
	assert_int_equal(wg_initiation_create(&hs_i, &id_i, msg, v_index_i, v_ephemeral_i, v_timestamp), 0);
	assert_memory_equal(msg, v_initiation, WG_INITIATION_LEN);
}

static void full_handshake_matches_and_derives_the_same_keys(void **state)
{
	uint8_t init[WG_INITIATION_LEN], resp[WG_RESPONSE_LEN], data[64 + 32], plain[64];
	struct wg_initiation_seen seen;
	struct wg_keys ki, kr;
	uint64_t counter;

	(void)state;
	assert_int_equal(wg_initiation_create(&hs_i, &id_i, init, v_index_i, v_ephemeral_i, v_timestamp), 0);
	assert_true(wg_mac1_valid(id_r.mac1_key, init, sizeof(init)));
	assert_int_equal(wg_initiation_consume(&id_r, init, &seen), 0);
	assert_memory_equal(seen.remote_static, id_i.public_key, 32);
	assert_memory_equal(seen.timestamp, v_timestamp, 12);
	assert_int_equal(seen.sender_index, v_index_i);
	assert_int_equal(wg_handshake_accept_initiation(&hs_r, &seen), 0);
	assert_int_equal(wg_response_create(&hs_r, resp, v_index_r, v_ephemeral_r), 0);
	assert_memory_equal(resp, v_response, WG_RESPONSE_LEN);
	assert_true(wg_mac1_valid(id_i.mac1_key, resp, sizeof(resp)));
	assert_int_equal(wg_response_consume(&hs_i, &id_i, resp), 0);
	assert_int_equal(wg_handshake_derive(&hs_i, &ki), 0);
	assert_int_equal(wg_handshake_derive(&hs_r, &kr), 0);
	assert_memory_equal(ki.send, v_send_i, 32);
	assert_memory_equal(ki.recv, v_recv_i, 32);
	assert_memory_equal(kr.recv, v_send_i, 32);
	assert_memory_equal(kr.send, v_recv_i, 32);
	assert_true(ki.initiator);
	assert_false(kr.initiator);
	/* The first data packet, byte for byte, and back. */
	assert_int_equal(wg_data_seal(&ki, 0, v_plain, sizeof(v_plain), data), sizeof(v_data));
	assert_memory_equal(data, v_data, sizeof(v_data));
	assert_int_equal(wg_data_open(&kr, data, sizeof(data), plain, &counter), 0);
	assert_int_equal(counter, 0);
	assert_memory_equal(plain, v_plain, 64);
}

static void replayed_initiation_is_refused(void **state)
{
	uint8_t init[WG_INITIATION_LEN];
	struct wg_initiation_seen seen;

	(void)state;
	assert_int_equal(wg_initiation_create(&hs_i, &id_i, init, v_index_i, v_ephemeral_i, v_timestamp), 0);
	assert_int_equal(wg_initiation_consume(&id_r, init, &seen), 0);
	/* setup_peers ran once: the earlier test already accepted this timestamp. */
	assert_int_equal(wg_handshake_accept_initiation(&hs_r, &seen), -EALREADY);
}

static void forged_messages_do_not_decrypt(void **state)
{
	uint8_t init[WG_INITIATION_LEN], data[sizeof(v_data)], plain[64];
	struct wg_initiation_seen seen;
	struct wg_keys k;
	uint64_t counter;

	(void)state;
	memcpy(init, v_initiation, sizeof(init));
	init[50] ^= 0x80;
	assert_int_equal(wg_initiation_consume(&id_r, init, &seen), -EBADMSG);
	assert_false(wg_mac1_valid(id_r.mac1_key, init, sizeof(init)));
	memset(&k, 0, sizeof(k));
	memcpy(k.recv, v_send_i, 32);
	memcpy(data, v_data, sizeof(data));
	data[20] ^= 1;
	assert_int_equal(wg_data_open(&k, data, sizeof(data), plain, &counter), -EBADMSG);
	assert_int_equal(wg_data_open(&k, data, 10, plain, &counter), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(blake2s_abc_matches_rfc7693),
		cmocka_unit_test(blake2s_matches_python_on_every_length_and_key),
		cmocka_unit_test(blake2s_streaming_equals_one_shot),
		cmocka_unit_test(hmac_and_kdf_match_python),
		cmocka_unit_test(initiation_bytes_match_the_independent_generator),
		cmocka_unit_test(full_handshake_matches_and_derives_the_same_keys),
		cmocka_unit_test(replayed_initiation_is_refused),
		cmocka_unit_test(forged_messages_do_not_decrypt),
	};
	return cmocka_run_group_tests(tests, setup_peers, NULL);
}
