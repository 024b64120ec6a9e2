/* BLAKE2s as RFC 7693 §3 specifies it. */
#include "blake2s.h"

#include <sodium.h>
#include <string.h>

static const uint32_t iv[8] = {
	0x6A09E667u, 0xBB67AE85u, 0x3C6EF372u, 0xA54FF53Au,
	0x510E527Fu, 0x9B05688Cu, 0x1F83D9ABu, 0x5BE0CD19u,
};

/* RFC 7693 §2.7: message word schedule, ten rounds. */
static const uint8_t sigma[10][16] = {
	{ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },
	{ 14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3 },
	{ 11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4 },
	{ 7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8 },
	{ 9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13 },
	{ 2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9 },
	{ 12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11 },
	{ 13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10 },
	{ 6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5 },
	{ 10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0 },
};

static uint32_t rotr(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

static uint32_t load32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* RFC 7693 §3.1: the mixing function, rotations 16, 12, 8, 7. */
#define G(a, b, c, d, x, y)                        \
	do {                                       \
		v[a] = v[a] + v[b] + (x);          \
		v[d] = rotr(v[d] ^ v[a], 16);      \
		v[c] = v[c] + v[d];                \
		v[b] = rotr(v[b] ^ v[c], 12);      \
		v[a] = v[a] + v[b] + (y);          \
		v[d] = rotr(v[d] ^ v[a], 8);       \
		v[c] = v[c] + v[d];                \
		v[b] = rotr(v[b] ^ v[c], 7);       \
	} while (0)

/* RFC 7693 §3.2: compress one block; last marks the final one. */
static void compress(struct blake2s_state *s, const uint8_t block[BLAKE2S_BLOCK_LEN], int last)
{
	uint32_t m[16], v[16];

	for (int i = 0; i < 16; i++)
		m[i] = load32(block + 4 * i);
	for (int i = 0; i < 8; i++) {
		v[i] = s->h[i];
		v[i + 8] = iv[i];
	}
	v[12] ^= s->t[0];
	v[13] ^= s->t[1];
	if (last)
		v[14] = ~v[14];
	for (int r = 0; r < 10; r++) {
		const uint8_t *z = sigma[r];
		G(0, 4, 8, 12, m[z[0]], m[z[1]]);
		G(1, 5, 9, 13, m[z[2]], m[z[3]]);
		G(2, 6, 10, 14, m[z[4]], m[z[5]]);
		G(3, 7, 11, 15, m[z[6]], m[z[7]]);
		G(0, 5, 10, 15, m[z[8]], m[z[9]]);
		G(1, 6, 11, 12, m[z[10]], m[z[11]]);
		G(2, 7, 8, 13, m[z[12]], m[z[13]]);
		G(3, 4, 9, 14, m[z[14]], m[z[15]]);
	}
	for (int i = 0; i < 8; i++)
		s->h[i] ^= v[i] ^ v[i + 8];
	sodium_memzero(m, sizeof(m));
	sodium_memzero(v, sizeof(v));
}

static void add_counter(struct blake2s_state *s, uint32_t n)
{
	s->t[0] += n;
	if (s->t[0] < n)
		s->t[1]++;
}

void blake2s_init(struct blake2s_state *s, size_t outlen, const uint8_t *key, size_t keylen)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->h, iv, sizeof(iv));
	/* Parameter block: digest length, key length, fanout 1, depth 1. */
	s->h[0] ^= 0x01010000u ^ ((uint32_t)keylen << 8) ^ (uint32_t)outlen;
	s->outlen = outlen;
	if (keylen) {
		uint8_t block[BLAKE2S_BLOCK_LEN] = { 0 };
		memcpy(block, key, keylen);
		blake2s_update(s, block, BLAKE2S_BLOCK_LEN);
		sodium_memzero(block, sizeof(block));
	}
}

void blake2s_update(struct blake2s_state *s, const uint8_t *in, size_t len)
{
	while (len > 0) {
		size_t take;

		/* The last block is compressed in final, so keep a full one back. */
		if (s->buflen == BLAKE2S_BLOCK_LEN) {
			add_counter(s, BLAKE2S_BLOCK_LEN);
			compress(s, s->buf, 0);
			s->buflen = 0;
		}
		take = BLAKE2S_BLOCK_LEN - s->buflen;
		if (take > len)
			take = len;
		memcpy(s->buf + s->buflen, in, take);
		s->buflen += take;
		in += take;
		len -= take;
	}
}

void blake2s_final(struct blake2s_state *s, uint8_t *out)
{
	uint8_t full[BLAKE2S_HASH_LEN];

	add_counter(s, (uint32_t)s->buflen);
	memset(s->buf + s->buflen, 0, BLAKE2S_BLOCK_LEN - s->buflen);
	compress(s, s->buf, 1);
	for (int i = 0; i < 8; i++) {
		full[4 * i] = (uint8_t)s->h[i];
		full[4 * i + 1] = (uint8_t)(s->h[i] >> 8);
		full[4 * i + 2] = (uint8_t)(s->h[i] >> 16);
		full[4 * i + 3] = (uint8_t)(s->h[i] >> 24);
	}
	memcpy(out, full, s->outlen);
	sodium_memzero(full, sizeof(full));
	sodium_memzero(s, sizeof(*s));
}

void blake2s(uint8_t *out, size_t outlen, const uint8_t *key, size_t keylen, const uint8_t *in, size_t len)
{
	struct blake2s_state s;

	blake2s_init(&s, outlen, key, keylen);
	blake2s_update(&s, in, len);
	blake2s_final(&s, out);
}

void blake2s_hmac(uint8_t out[static BLAKE2S_HASH_LEN], const uint8_t *key, size_t keylen, const uint8_t *in,
		  size_t len)
{
	uint8_t k[BLAKE2S_BLOCK_LEN] = { 0 }, pad[BLAKE2S_BLOCK_LEN], inner[BLAKE2S_HASH_LEN];
	struct blake2s_state s;

	if (keylen > BLAKE2S_BLOCK_LEN)
		blake2s(k, BLAKE2S_HASH_LEN, NULL, 0, key, keylen);
	else
		memcpy(k, key, keylen);
	for (int i = 0; i < BLAKE2S_BLOCK_LEN; i++)
		pad[i] = k[i] ^ 0x36;
	blake2s_init(&s, BLAKE2S_HASH_LEN, NULL, 0);
	blake2s_update(&s, pad, BLAKE2S_BLOCK_LEN);
	blake2s_update(&s, in, len);
	blake2s_final(&s, inner);
	for (int i = 0; i < BLAKE2S_BLOCK_LEN; i++)
		pad[i] = k[i] ^ 0x5c;
	blake2s_init(&s, BLAKE2S_HASH_LEN, NULL, 0);
	blake2s_update(&s, pad, BLAKE2S_BLOCK_LEN);
	blake2s_update(&s, inner, BLAKE2S_HASH_LEN);
	blake2s_final(&s, out);
	sodium_memzero(k, sizeof(k));
	sodium_memzero(pad, sizeof(pad));
	sodium_memzero(inner, sizeof(inner));
}

void wg_kdf(uint8_t *out1, uint8_t *out2, uint8_t *out3, const uint8_t ck[static BLAKE2S_HASH_LEN],
	    const uint8_t *in, size_t len)
{
	uint8_t prk[BLAKE2S_HASH_LEN], t[BLAKE2S_HASH_LEN + 1];

	/* WireGuard paper §5.4: τ0 = HMAC(key, input), τ1 = HMAC(τ0, 0x1),
	 * τi = HMAC(τ0, τ(i-1) || i). */
	blake2s_hmac(prk, ck, BLAKE2S_HASH_LEN, in, len);
	t[0] = 1;
	blake2s_hmac(t, prk, BLAKE2S_HASH_LEN, t, 1);
	if (out1)
		memcpy(out1, t, BLAKE2S_HASH_LEN);
	if (out2 || out3) {
		t[BLAKE2S_HASH_LEN] = 2;
		blake2s_hmac(t, prk, BLAKE2S_HASH_LEN, t, BLAKE2S_HASH_LEN + 1);
		if (out2)
			memcpy(out2, t, BLAKE2S_HASH_LEN);
	}
	if (out3) {
		t[BLAKE2S_HASH_LEN] = 3;
		blake2s_hmac(t, prk, BLAKE2S_HASH_LEN, t, BLAKE2S_HASH_LEN + 1);
		memcpy(out3, t, BLAKE2S_HASH_LEN);
	}
	sodium_memzero(prk, sizeof(prk));
	sodium_memzero(t, sizeof(t));
}
