/* BLAKE2s (RFC 7693) and the constructions WireGuard builds on it:
 * HASH, MAC (keyed, 16 bytes), HMAC and the HKDF chain (WireGuard paper §5.4). */
#ifndef PL_WG_BLAKE2S_H
#define PL_WG_BLAKE2S_H

#include <stddef.h>
#include <stdint.h>

#define BLAKE2S_BLOCK_LEN 64
#define BLAKE2S_HASH_LEN 32
#define BLAKE2S_KEY_MAX 32

struct blake2s_state {
	uint32_t h[8];
	uint32_t t[2];
	uint8_t buf[BLAKE2S_BLOCK_LEN];
	size_t buflen;
	size_t outlen;
};

/* Start a hash of outlen (1..32) bytes, keyed when keylen > 0 (<= 32). */
void blake2s_init(struct blake2s_state *s, size_t outlen, const uint8_t *key, size_t keylen);
void blake2s_update(struct blake2s_state *s, const uint8_t *in, size_t len);
/* Write outlen bytes and wipe the state. */
void blake2s_final(struct blake2s_state *s, uint8_t *out);
/* One call: out = BLAKE2s-outlen(key; in). */
void blake2s(uint8_t *out, size_t outlen, const uint8_t *key, size_t keylen, const uint8_t *in, size_t len);

/* HMAC-BLAKE2s-256 (RFC 2104 with a 64-byte block). */
void blake2s_hmac(uint8_t out[static BLAKE2S_HASH_LEN], const uint8_t *key, size_t keylen, const uint8_t *in,
		  size_t len);
/* WireGuard's KDF_n: out1..out_n (each 32 bytes, NULL to skip) from chaining
 * key ck and input. */
void wg_kdf(uint8_t *out1, uint8_t *out2, uint8_t *out3, const uint8_t ck[static BLAKE2S_HASH_LEN],
	    const uint8_t *in, size_t len);

#endif
