/* WireGuard paper §5.4, step by step; the comments name the paper's lines. */
#include "noise.h"
#include "blake2s.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>
#include <time.h>

static const char construction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
static const char identifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";
static const char label_mac1[] = "mac1----";
static const char label_cookie[] = "cookie--";

static void hash2(uint8_t out[WG_HASH_LEN], const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	struct blake2s_state s;

	blake2s_init(&s, WG_HASH_LEN, NULL, 0);
	blake2s_update(&s, a, alen);
	blake2s_update(&s, b, blen);
	blake2s_final(&s, out);
}

/* H = HASH(H || data) */
static void mix_hash(uint8_t h[WG_HASH_LEN], const uint8_t *data, size_t len)
{
	hash2(h, h, WG_HASH_LEN, data, len);
}

static int dh(uint8_t out[WG_KEY_LEN], const uint8_t priv[WG_KEY_LEN], const uint8_t pub[WG_KEY_LEN])
{
	/* libsodium refuses a low-order point (all-zero result). */
	return crypto_scalarmult(out, priv, pub) == 0 ? 0 : -EINVAL;
}

static void aead_seal(uint8_t *out, const uint8_t key[WG_KEY_LEN], uint64_t counter, const uint8_t *plain,
		      size_t len, const uint8_t *ad, size_t adlen)
{
	uint8_t nonce[12] = { 0 };

	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(counter >> (8 * i));
	crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, plain, len, ad, adlen, NULL, nonce, key);
}

static int aead_open(uint8_t *out, const uint8_t key[WG_KEY_LEN], uint64_t counter, const uint8_t *sealed,
		     size_t len, const uint8_t *ad, size_t adlen)
{
	uint8_t nonce[12] = { 0 };

	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(counter >> (8 * i));
	return crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, sealed, len, ad, adlen, nonce, key) ? -EBADMSG : 0;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* Ci = HASH(CONSTRUCTION); Hi = HASH(HASH(Ci || IDENTIFIER) || Sr_pub) */
static void handshake_start(uint8_t ck[WG_HASH_LEN], uint8_t h[WG_HASH_LEN], const uint8_t responder_static[WG_KEY_LEN])
{
	blake2s(ck, WG_HASH_LEN, NULL, 0, (const uint8_t *)construction, sizeof(construction) - 1);
	hash2(h, ck, WG_HASH_LEN, (const uint8_t *)identifier, sizeof(identifier) - 1);
	mix_hash(h, responder_static, WG_KEY_LEN);
}

int wg_identity_init(struct wg_identity *id, const uint8_t private_key[static WG_KEY_LEN])
{
	memcpy(id->private_key, private_key, WG_KEY_LEN);
	if (crypto_scalarmult_base(id->public_key, id->private_key))
		return -EINVAL;
	hash2(id->mac1_key, (const uint8_t *)label_mac1, 8, id->public_key, WG_KEY_LEN);
	hash2(id->cookie_key, (const uint8_t *)label_cookie, 8, id->public_key, WG_KEY_LEN);
	return 0;
}

int wg_handshake_init(struct wg_handshake *hs, const struct wg_identity *id,
		      const uint8_t remote_static[static WG_KEY_LEN], const uint8_t *psk)
{
	memset(hs, 0, sizeof(*hs));
	memcpy(hs->remote_static, remote_static, WG_KEY_LEN);
	if (psk)
		memcpy(hs->psk, psk, WG_KEY_LEN);
	hash2(hs->remote_mac1_key, (const uint8_t *)label_mac1, 8, remote_static, WG_KEY_LEN);
	hash2(hs->remote_cookie_key, (const uint8_t *)label_cookie, 8, remote_static, WG_KEY_LEN);
	return dh(hs->static_static, id->private_key, remote_static);
}

void wg_handshake_clear(struct wg_handshake *hs)
{
	sodium_memzero(hs->hash, sizeof(hs->hash));
	sodium_memzero(hs->chaining_key, sizeof(hs->chaining_key));
	sodium_memzero(hs->ephemeral_private, sizeof(hs->ephemeral_private));
	sodium_memzero(hs->remote_ephemeral, sizeof(hs->remote_ephemeral));
	hs->remote_index = 0;
	hs->state = WG_HS_ZEROED;
}

void wg_mac1(uint8_t out[static WG_MAC_LEN], const uint8_t key[static WG_HASH_LEN], const uint8_t *msg, size_t len)
{
	blake2s(out, WG_MAC_LEN, key, WG_HASH_LEN, msg, len - WG_MAC1_FROM_END);
}

bool wg_mac1_valid(const uint8_t key[static WG_HASH_LEN], const uint8_t *msg, size_t len)
{
	uint8_t mac[WG_MAC_LEN];

	wg_mac1(mac, key, msg, len);
	return sodium_memcmp(mac, msg + len - WG_MAC1_FROM_END, WG_MAC_LEN) == 0;
}

void wg_mac2(uint8_t out[static WG_MAC_LEN], const uint8_t cookie[static WG_MAC_LEN], const uint8_t *msg, size_t len)
{
	blake2s(out, WG_MAC_LEN, cookie, WG_MAC_LEN, msg, len - WG_MAC2_FROM_END);
}

int wg_initiation_create(struct wg_handshake *hs, const struct wg_identity *id, uint8_t out[static WG_INITIATION_LEN],
			 uint32_t local_index, const uint8_t ephemeral[static WG_KEY_LEN],
			 const uint8_t timestamp[static WG_TIMESTAMP_LEN])
{
	uint8_t *eph = out + 8, *enc_static = out + 40, *enc_ts = out + 88;
	uint8_t key[WG_KEY_LEN], shared[WG_KEY_LEN];
	int ret = -EINVAL;

	memset(out, 0, WG_INITIATION_LEN);
	out[0] = WG_MSG_INITIATION;
	put_le32(out + 4, local_index);
	handshake_start(hs->chaining_key, hs->hash, hs->remote_static);
	memcpy(hs->ephemeral_private, ephemeral, WG_KEY_LEN);
	if (crypto_scalarmult_base(eph, ephemeral))
		goto out;
	/* Ci = KDF1(Ci, Ei_pub); Hi = HASH(Hi || Ei_pub) */
	wg_kdf(hs->chaining_key, NULL, NULL, hs->chaining_key, eph, WG_KEY_LEN);
	mix_hash(hs->hash, eph, WG_KEY_LEN);
	/* (Ci, k) = KDF2(Ci, DH(Ei_priv, Sr_pub)); static = AEAD(k, 0, Si_pub, Hi) */
	if (dh(shared, ephemeral, hs->remote_static))
		goto out;
	wg_kdf(hs->chaining_key, key, NULL, hs->chaining_key, shared, WG_KEY_LEN);
	aead_seal(enc_static, key, 0, id->public_key, WG_KEY_LEN, hs->hash, WG_HASH_LEN);
	mix_hash(hs->hash, enc_static, WG_KEY_LEN + WG_TAG_LEN);
	/* (Ci, k) = KDF2(Ci, DH(Si_priv, Sr_pub)); timestamp = AEAD(k, 0, TAI64N, Hi) */
	wg_kdf(hs->chaining_key, key, NULL, hs->chaining_key, hs->static_static, WG_KEY_LEN);
	aead_seal(enc_ts, key, 0, timestamp, WG_TIMESTAMP_LEN, hs->hash, WG_HASH_LEN);
	mix_hash(hs->hash, enc_ts, WG_TIMESTAMP_LEN + WG_TAG_LEN);
	wg_mac1(out + WG_INITIATION_LEN - WG_MAC1_FROM_END, hs->remote_mac1_key, out, WG_INITIATION_LEN);
	hs->local_index = local_index;
	hs->state = WG_HS_CREATED_INITIATION;
	ret = 0;
out:
	sodium_memzero(key, sizeof(key));
	sodium_memzero(shared, sizeof(shared));
	return ret;
}

int wg_initiation_consume(const struct wg_identity *id, const uint8_t msg[static WG_INITIATION_LEN],
			  struct wg_initiation_seen *seen)
{
	const uint8_t *eph = msg + 8, *enc_static = msg + 40, *enc_ts = msg + 88;
	uint8_t key[WG_KEY_LEN], shared[WG_KEY_LEN];
	int ret = -EBADMSG;

	memset(seen, 0, sizeof(*seen));
	seen->sender_index = get_le32(msg + 4);
	handshake_start(seen->chaining_key, seen->hash, id->public_key);
	memcpy(seen->remote_ephemeral, eph, WG_KEY_LEN);
	wg_kdf(seen->chaining_key, NULL, NULL, seen->chaining_key, eph, WG_KEY_LEN);
	mix_hash(seen->hash, eph, WG_KEY_LEN);
	if (dh(shared, id->private_key, eph))
		goto out;
	wg_kdf(seen->chaining_key, key, NULL, seen->chaining_key, shared, WG_KEY_LEN);
	if (aead_open(seen->remote_static, key, 0, enc_static, WG_KEY_LEN + WG_TAG_LEN, seen->hash, WG_HASH_LEN))
		goto out;
	mix_hash(seen->hash, enc_static, WG_KEY_LEN + WG_TAG_LEN);
	if (dh(shared, id->private_key, seen->remote_static))
		goto out;
	wg_kdf(seen->chaining_key, key, NULL, seen->chaining_key, shared, WG_KEY_LEN);
	if (aead_open(seen->timestamp, key, 0, enc_ts, WG_TIMESTAMP_LEN + WG_TAG_LEN, seen->hash, WG_HASH_LEN))
		goto out;
	mix_hash(seen->hash, enc_ts, WG_TIMESTAMP_LEN + WG_TAG_LEN);
	ret = 0;
out:
	sodium_memzero(key, sizeof(key));
	sodium_memzero(shared, sizeof(shared));
	if (ret)
		sodium_memzero(seen, sizeof(*seen));
	return ret;
}

int wg_handshake_accept_initiation(struct wg_handshake *hs, const struct wg_initiation_seen *seen)
{
	/* TAI64N is big-endian: a byte comparison orders it (paper §5.1). */
	if (memcmp(seen->timestamp, hs->latest_timestamp, WG_TIMESTAMP_LEN) <= 0)
		return -EALREADY;
	memcpy(hs->latest_timestamp, seen->timestamp, WG_TIMESTAMP_LEN);
	memcpy(hs->hash, seen->hash, WG_HASH_LEN);
	memcpy(hs->chaining_key, seen->chaining_key, WG_HASH_LEN);
	memcpy(hs->remote_ephemeral, seen->remote_ephemeral, WG_KEY_LEN);
	hs->remote_index = seen->sender_index;
	hs->state = WG_HS_CONSUMED_INITIATION;
	return 0;
}

/* The responder's steps after its ephemeral, shared by both sides. */
static int response_mix(struct wg_handshake *hs, const uint8_t eph_pub[WG_KEY_LEN], const uint8_t dh_ee[WG_KEY_LEN],
			const uint8_t dh_se[WG_KEY_LEN], uint8_t key[WG_KEY_LEN])
{
	uint8_t tau[WG_HASH_LEN];

	/* Cr = KDF1(Cr, Er_pub); Hr = HASH(Hr || Er_pub) */
	wg_kdf(hs->chaining_key, NULL, NULL, hs->chaining_key, eph_pub, WG_KEY_LEN);
	mix_hash(hs->hash, eph_pub, WG_KEY_LEN);
	/* Cr = KDF1(Cr, DH(Er, Ei)); Cr = KDF1(Cr, DH(Er, Si)) */
	wg_kdf(hs->chaining_key, NULL, NULL, hs->chaining_key, dh_ee, WG_KEY_LEN);
	wg_kdf(hs->chaining_key, NULL, NULL, hs->chaining_key, dh_se, WG_KEY_LEN);
	/* (Cr, τ, k) = KDF3(Cr, Q); Hr = HASH(Hr || τ) */
	wg_kdf(hs->chaining_key, tau, key, hs->chaining_key, hs->psk, WG_KEY_LEN);
	mix_hash(hs->hash, tau, WG_HASH_LEN);
	sodium_memzero(tau, sizeof(tau));
	return 0;
}

int wg_response_create(struct wg_handshake *hs, uint8_t out[static WG_RESPONSE_LEN], uint32_t local_index,
		       const uint8_t ephemeral[static WG_KEY_LEN])
{
	uint8_t *eph = out + 12, *enc_nothing = out + 44;
	uint8_t key[WG_KEY_LEN], ee[WG_KEY_LEN], se[WG_KEY_LEN];
	int ret = -EINVAL;

	if (hs->state != WG_HS_CONSUMED_INITIATION)
		return -EINVAL;
	memset(out, 0, WG_RESPONSE_LEN);
	out[0] = WG_MSG_RESPONSE;
	put_le32(out + 4, local_index);
	put_le32(out + 8, hs->remote_index);
	if (crypto_scalarmult_base(eph, ephemeral) || dh(ee, ephemeral, hs->remote_ephemeral) ||
	    dh(se, ephemeral, hs->remote_static))
		goto out;
	response_mix(hs, eph, ee, se, key);
	aead_seal(enc_nothing, key, 0, NULL, 0, hs->hash, WG_HASH_LEN);
	mix_hash(hs->hash, enc_nothing, WG_TAG_LEN);
	wg_mac1(out + WG_RESPONSE_LEN - WG_MAC1_FROM_END, hs->remote_mac1_key, out, WG_RESPONSE_LEN);
	hs->local_index = local_index;
	hs->state = WG_HS_CREATED_RESPONSE;
	ret = 0;
out:
	sodium_memzero(key, sizeof(key));
	sodium_memzero(ee, sizeof(ee));
	sodium_memzero(se, sizeof(se));
	return ret;
}

int wg_response_consume(struct wg_handshake *hs, const struct wg_identity *id, const uint8_t msg[static WG_RESPONSE_LEN])
{
	const uint8_t *eph = msg + 12, *enc_nothing = msg + 44;
	uint8_t key[WG_KEY_LEN], ee[WG_KEY_LEN], se[WG_KEY_LEN], hash[WG_HASH_LEN], ck[WG_HASH_LEN];
	int ret = -EBADMSG;

	if (hs->state != WG_HS_CREATED_INITIATION || get_le32(msg + 8) != hs->local_index)
		return -EINVAL;
	/* Work on copies: a forged response must not spoil the real one. */
	memcpy(hash, hs->hash, WG_HASH_LEN);
	memcpy(ck, hs->chaining_key, WG_HASH_LEN);
	if (dh(ee, hs->ephemeral_private, eph) || dh(se, id->private_key, eph))
		goto out;
	response_mix(hs, eph, ee, se, key);
	if (aead_open(NULL, key, 0, enc_nothing, WG_TAG_LEN, hs->hash, WG_HASH_LEN)) {
		memcpy(hs->hash, hash, WG_HASH_LEN);
		memcpy(hs->chaining_key, ck, WG_HASH_LEN);
		goto out;
	}
	mix_hash(hs->hash, enc_nothing, WG_TAG_LEN);
	hs->remote_index = get_le32(msg + 4);
	hs->state = WG_HS_CONSUMED_RESPONSE;
	ret = 0;
out:
	sodium_memzero(key, sizeof(key));
	sodium_memzero(ee, sizeof(ee));
	sodium_memzero(se, sizeof(se));
	return ret;
}

int wg_handshake_derive(struct wg_handshake *hs, struct wg_keys *keys)
{
	bool initiator = hs->state == WG_HS_CONSUMED_RESPONSE;

	if (!initiator && hs->state != WG_HS_CREATED_RESPONSE)
		return -EINVAL;
	/* (T_send_i, T_recv_i) = KDF2(Ci, ε); the responder's are swapped. */
	if (initiator)
		wg_kdf(keys->send, keys->recv, NULL, hs->chaining_key, NULL, 0);
	else
		wg_kdf(keys->recv, keys->send, NULL, hs->chaining_key, NULL, 0);
	keys->local_index = hs->local_index;
	keys->remote_index = hs->remote_index;
	keys->initiator = initiator;
	wg_handshake_clear(hs);
	return 0;
}

size_t wg_data_seal(const struct wg_keys *keys, uint64_t counter, const uint8_t *plain, size_t len, uint8_t *out)
{
	size_t padded = (len + 15) & ~(size_t)15;

	out[0] = WG_MSG_DATA;
	out[1] = out[2] = out[3] = 0;
	put_le32(out + 4, keys->remote_index);
	for (int i = 0; i < 8; i++)
		out[8 + i] = (uint8_t)(counter >> (8 * i));
	if (len && plain != out + WG_DATA_HEADER_LEN)
		memmove(out + WG_DATA_HEADER_LEN, plain, len);
	memset(out + WG_DATA_HEADER_LEN + len, 0, padded - len);
	aead_seal(out + WG_DATA_HEADER_LEN, keys->send, counter, out + WG_DATA_HEADER_LEN, padded, NULL, 0);
	return WG_DATA_HEADER_LEN + padded + WG_TAG_LEN;
}

int wg_data_open(const struct wg_keys *keys, const uint8_t *msg, size_t len, uint8_t *plain, uint64_t *counter)
{
	uint64_t c = 0;

	if (len < WG_DATA_MIN_LEN)
		return -EBADMSG;
	for (int i = 7; i >= 0; i--)
		c = (c << 8) | msg[8 + i];
	*counter = c;
	return aead_open(plain, keys->recv, c, msg + WG_DATA_HEADER_LEN, len - WG_DATA_HEADER_LEN, NULL, 0);
}

void wg_timestamp_now(uint8_t out[static WG_TIMESTAMP_LEN])
{
	struct timespec ts;
	uint64_t secs;
	uint32_t nanos;

	clock_gettime(CLOCK_REALTIME, &ts);
	/* TAI64N label: 2^62 + 10 + seconds, then nanoseconds, big-endian. */
	secs = 0x400000000000000aULL + (uint64_t)ts.tv_sec;
	nanos = (uint32_t)ts.tv_nsec;
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(secs >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		out[8 + i] = (uint8_t)(nanos >> (24 - 8 * i));
}
