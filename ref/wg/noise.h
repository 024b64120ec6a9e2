/* The WireGuard handshake, Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s (WireGuard
 * paper §5.4), and transport data messages. Pure functions over plain
 * structs: no sockets, no clocks (timestamps and ephemerals are passed in),
 * so every message can be checked against independent vectors. */
#ifndef PL_WG_NOISE_H
#define PL_WG_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WG_KEY_LEN 32
#define WG_HASH_LEN 32
#define WG_TAG_LEN 16
#define WG_MAC_LEN 16
#define WG_TIMESTAMP_LEN 12
#define WG_COOKIE_NONCE_LEN 24

enum wg_message_type {
	WG_MSG_INITIATION = 1,
	WG_MSG_RESPONSE = 2,
	WG_MSG_COOKIE = 3,
	WG_MSG_DATA = 4,
};

#define WG_INITIATION_LEN 148
#define WG_RESPONSE_LEN 92
#define WG_COOKIE_LEN 64
#define WG_DATA_HEADER_LEN 16
#define WG_DATA_MIN_LEN (WG_DATA_HEADER_LEN + WG_TAG_LEN)
/* Offsets of mac1 and mac2 from the end of a handshake message. */
#define WG_MAC1_FROM_END 32
#define WG_MAC2_FROM_END 16

/* The local side: static key pair and the keys derived from the public one. */
struct wg_identity {
	uint8_t private_key[WG_KEY_LEN];
	uint8_t public_key[WG_KEY_LEN];
	uint8_t mac1_key[WG_HASH_LEN];   /* HASH(LABEL_MAC1 || public): checks mac1 on what we receive */
	uint8_t cookie_key[WG_HASH_LEN]; /* HASH(LABEL_COOKIE || public): seals cookies we send */
};

enum wg_handshake_state {
	WG_HS_ZEROED,
	WG_HS_CREATED_INITIATION,
	WG_HS_CONSUMED_INITIATION,
	WG_HS_CREATED_RESPONSE,
	WG_HS_CONSUMED_RESPONSE,
};

/* Handshake state with one peer. */
struct wg_handshake {
	enum wg_handshake_state state;
	uint8_t remote_static[WG_KEY_LEN];
	uint8_t remote_mac1_key[WG_HASH_LEN];  /* for mac1 on what we send */
	uint8_t remote_cookie_key[WG_HASH_LEN];/* opens cookie replies from the peer */
	uint8_t static_static[WG_KEY_LEN];     /* DH(S_local, S_remote), precomputed */
	uint8_t psk[WG_KEY_LEN];
	uint8_t hash[WG_HASH_LEN], chaining_key[WG_HASH_LEN];
	uint8_t ephemeral_private[WG_KEY_LEN], remote_ephemeral[WG_KEY_LEN];
	uint8_t latest_timestamp[WG_TIMESTAMP_LEN];
	uint32_t local_index, remote_index;
};

/* Session keys from a finished handshake. */
struct wg_keys {
	uint8_t send[WG_KEY_LEN], recv[WG_KEY_LEN];
	uint32_t local_index, remote_index;
	bool initiator;
};

/* Set up the local identity from a private key; -EINVAL if it is unusable. */
int wg_identity_init(struct wg_identity *id, const uint8_t private_key[static WG_KEY_LEN]);
/* Prepare handshake state for a peer (psk may be NULL). -EINVAL for a
 * public key that gives an all-zero shared secret. */
int wg_handshake_init(struct wg_handshake *hs, const struct wg_identity *id,
		      const uint8_t remote_static[static WG_KEY_LEN], const uint8_t *psk);
/* Wipe the in-progress state (keeps the peer's keys). */
void wg_handshake_clear(struct wg_handshake *hs);

/* Initiation: fill out (mac1 set, mac2 zero) with our index, the given
 * ephemeral private key and TAI64N timestamp. */
int wg_initiation_create(struct wg_handshake *hs, const struct wg_identity *id, uint8_t out[static WG_INITIATION_LEN],
			 uint32_t local_index, const uint8_t ephemeral[static WG_KEY_LEN],
			 const uint8_t timestamp[static WG_TIMESTAMP_LEN]);

/* What an initiation says before we know which peer sent it. */
struct wg_initiation_seen {
	uint8_t remote_static[WG_KEY_LEN];
	uint8_t remote_ephemeral[WG_KEY_LEN];
	uint8_t timestamp[WG_TIMESTAMP_LEN];
	uint8_t hash[WG_HASH_LEN], chaining_key[WG_HASH_LEN];
	uint32_t sender_index;
};
/* Open an initiation addressed to id (mac1 already checked by the caller).
 * -EBADMSG if it does not decrypt. */
int wg_initiation_consume(const struct wg_identity *id, const uint8_t msg[static WG_INITIATION_LEN],
			  struct wg_initiation_seen *seen);
/* Accept it for the peer whose static key it carried: -EALREADY for a
 * timestamp not newer than the last one (a replayed initiation). */
int wg_handshake_accept_initiation(struct wg_handshake *hs, const struct wg_initiation_seen *seen);

/* Response to a consumed initiation. */
int wg_response_create(struct wg_handshake *hs, uint8_t out[static WG_RESPONSE_LEN], uint32_t local_index,
		       const uint8_t ephemeral[static WG_KEY_LEN]);
/* Open a response to our initiation; -EBADMSG if it does not decrypt. */
int wg_response_consume(struct wg_handshake *hs, const struct wg_identity *id, const uint8_t msg[static WG_RESPONSE_LEN]);

/* Session keys once the handshake is complete (after creating or consuming
 * the response); the handshake state is wiped. */
int wg_handshake_derive(struct wg_handshake *hs, struct wg_keys *keys);

/* mac1 over msg[0 .. len-32) with key; mac2 (cookie) over msg[0 .. len-16). */
void wg_mac1(uint8_t out[static WG_MAC_LEN], const uint8_t key[static WG_HASH_LEN], const uint8_t *msg, size_t len);
bool wg_mac1_valid(const uint8_t key[static WG_HASH_LEN], const uint8_t *msg, size_t len);
void wg_mac2(uint8_t out[static WG_MAC_LEN], const uint8_t cookie[static WG_MAC_LEN], const uint8_t *msg, size_t len);

/* Transport data. Encrypt len bytes (padded here to 16) with counter;
 * out needs WG_DATA_HEADER_LEN + padded + WG_TAG_LEN bytes. Returns the
 * message length. */
size_t wg_data_seal(const struct wg_keys *keys, uint64_t counter, const uint8_t *plain, size_t len, uint8_t *out);
/* Open a data message (header already checked); plain gets len - 32 bytes.
 * -EBADMSG when the tag fails. The replay check is the caller's. */
int wg_data_open(const struct wg_keys *keys, const uint8_t *msg, size_t len, uint8_t *plain, uint64_t *counter);

/* Current TAI64N time. */
void wg_timestamp_now(uint8_t out[static WG_TIMESTAMP_LEN]);

#endif
