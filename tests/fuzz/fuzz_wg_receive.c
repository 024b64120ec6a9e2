/* libFuzzer: WireGuard's receive path with a live session. Each input is
 * a fresh pair of devices (ours, `dev`, and its peer `other`) that have
 * completed a handshake, then a sequence of events the input chooses:
 *   0 L S ...   other sends an inner packet of L bytes from 10.0.0.S (S=2:
 *               its allowed address; else not allowed) -> captured
 *   1 K H F B   deliver captured packet K to dev, from other's address,
 *               a new one (H&1: roaming) or through the relay (H&2), with
 *               byte F flipped by B (B=0: untouched); again = a replay
 *   2 L ...     L raw bytes to dev
 *   3 T         T seconds pass (rekeys, expiry, keepalives)
 *   4 D         dev sends a packet to 10.0.0.D (2: other's; else no peer)
 *   5           other starts a new handshake -> captured
 * Nothing may crash. Randomness is deterministic, so a crash reproduces.
 * At exit it prints what it reached (decrypted packets, replays, roams),
 * so a run shows it gets past the crypto. */
#include "wg/wg.h"

#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CAPTURED 16

static struct wg_device *dev, *other;
static int dev_mark, other_mark;   /* the callbacks' contexts: which device called */
static struct wg_peer *dev_peer, *other_peer;
static uint8_t captured[CAPTURED][1600];
static size_t captured_len[CAPTURED];
static int n_captured, next_slot;
static uint64_t now;
static bool delivering;
static struct {
	uint64_t inputs, delivered, replayed, not_allowed, bad_data, handshakes, roamed;
} reached;

/* A deterministic randombytes: ChaCha20 under a fixed key. */
static uint64_t rng_nonce;
static const char *rng_name(void)
{
	return "fuzz";
}
static void rng_buf(void *const buf, const size_t size)
{
	static const uint8_t key[32] = { 0x42 };
	uint8_t nonce[8];

	memcpy(nonce, &rng_nonce, 8);
	rng_nonce++;
	crypto_stream_chacha20(buf, size, nonce, key);
}
static uint32_t rng_random(void)
{
	uint32_t r;
	rng_buf(&r, sizeof(r));
	return r;
}
static struct randombytes_implementation rng = { rng_name, rng_random, NULL, NULL, rng_buf, NULL };

static const struct wg_endpoint *ep(const char *s)
{
	static struct wg_endpoint e[4];
	static int k;

	k = (k + 1) % 4;
	wg_endpoint_parse(s, &e[k]);
	return &e[k];
}

/* What dev sends reaches other at once (so our handshakes complete); what
 * other sends is captured, for the input to deliver (or not). */
static int send_cb(void *ctx, struct wg_peer *p, const struct wg_endpoint *to, const uint8_t *buf, size_t len)
{
	(void)p;
	(void)to;
	if (ctx == &dev_mark) {
		static uint8_t copy[70000];
		if (len <= sizeof(copy) && !delivering) {
			memcpy(copy, buf, len);
			delivering = true;
			wg_device_receive(other, copy, len, ep("192.0.2.1:51820"), false, now);
			delivering = false;
		}
	} else if (len <= sizeof(captured[0])) {
		memcpy(captured[next_slot], buf, len);
		captured_len[next_slot] = len;
		next_slot = (next_slot + 1) % CAPTURED;
		if (n_captured < CAPTURED)
			n_captured++;
	}
	return 0;
}

static void deliver_cb(void *ctx, struct wg_peer *p, const uint8_t *pkt, size_t len)
{
	(void)p;
	(void)pkt;
	(void)len;
	if (ctx == &dev_mark)
		reached.delivered++;
}

static void print_reached(void)
{
	fprintf(stderr,
		"fuzz_wg_receive reached: %llu inputs, %llu packets decrypted and delivered, %llu replays dropped, "
		"%llu not allowed, %llu bad data, %llu handshakes, %llu roams\n",
		(unsigned long long)reached.inputs, (unsigned long long)reached.delivered,
		(unsigned long long)reached.replayed, (unsigned long long)reached.not_allowed,
		(unsigned long long)reached.bad_data, (unsigned long long)reached.handshakes,
		(unsigned long long)reached.roamed);
	/* A run that never got a packet through the crypto fuzzed nothing
	 * behind it: say so with the exit code. */
	if (reached.inputs >= 100 && reached.delivered == 0) {
		fprintf(stderr, "fuzz_wg_receive: no input got past decryption: the target is broken\n");
		_exit(1);
	}
}

/* An IPv4 packet of len bytes (at least 20) from 10.0.0.src to 10.0.0.dst. */
static size_t ipv4(uint8_t *p, size_t len, uint8_t src, uint8_t dst, const uint8_t *fill, size_t nfill)
{
	if (len < 20)
		len = 20;
	memset(p, 0, len);
	memcpy(p + 20, fill, nfill < len - 20 ? nfill : len - 20);
	p[0] = 0x45;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	p[8] = 64;
	p[9] = 17;
	p[12] = 10, p[15] = src;
	p[16] = 10, p[19] = dst;
	return len;
}

static void pair_up(void)
{
	static const uint8_t k1[32] = { 1 }, k2[32] = { 2 };
	static const uint8_t dev_net[4] = { 10, 0, 0, 1 }, other_net[4] = { 10, 0, 0, 2 };
	uint8_t pkt[64];

	rng_nonce = 0;
	now = 1000;
	n_captured = next_slot = 0;
	/* The callbacks tell the devices apart by their context. */
	dev = wg_device_new(send_cb, deliver_cb, &dev_mark);
	other = wg_device_new(send_cb, deliver_cb, &other_mark);
	wg_device_set_private_key(dev, k1);
	wg_device_set_private_key(other, k2);
	dev_peer = wg_peer_add(dev, wg_device_public_key(other));
	other_peer = wg_peer_add(other, wg_device_public_key(dev));
	wg_peer_set_endpoint(dev_peer, ep("192.0.2.2:51821"));
	wg_peer_set_endpoint(other_peer, ep("192.0.2.1:51820"));
	wg_peer_add_allowed_ip(dev, dev_peer, 4, other_net, 32);
	wg_peer_add_allowed_ip(other, other_peer, 4, dev_net, 32);
	/* dev initiates; other's response is captured: deliver it, and the
	 * session is up (dev's first data packet confirms it to other). */
	wg_device_send(dev, pkt, ipv4(pkt, sizeof(pkt), 1, 2, NULL, 0), now);
	for (int i = 0; i < n_captured; i++) {
		static uint8_t copy[1600];
		memcpy(copy, captured[i], captured_len[i]);
		wg_device_receive(dev, copy, captured_len[i], ep("192.0.2.2:51821"), false, now);
	}
	n_captured = next_slot = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[70000];
	static bool once;
	size_t at = 0;
	const struct wg_counters *c;
	uint64_t replayed0, not_allowed0, bad0, hs0;

	if (!once) {
		once = true;
		randombytes_set_implementation(&rng);
		if (sodium_init() < 0)
			abort();
		atexit(print_reached);
	}
	pair_up();
	c = wg_device_counters(dev);
	replayed0 = c->replayed_data, not_allowed0 = c->not_allowed, bad0 = c->bad_data, hs0 = c->handshakes;
	reached.inputs++;
	while (at < size) {
		uint8_t op = data[at++] % 6;
		switch (op) {
		case 0: {
			size_t len = at < size ? data[at++] : 0, n;
			uint8_t src = at < size ? data[at++] : 2;
			n = ipv4(buf, 20 + len, src, 1, data + at, size - at);
			at += n - 20 < size - at ? n - 20 : size - at;
			wg_device_send(other, buf, n, now);
			break;
		}
		case 1: {
			int k = at < size ? data[at++] % CAPTURED : 0;
			uint8_t how = at < size ? data[at++] : 0, flip_at = at < size ? data[at++] : 0, flip = at < size ? data[at++] : 0;
			if (k >= n_captured)
				break;
			memcpy(buf, captured[k], captured_len[k]);
			if (flip)
				buf[flip_at % captured_len[k]] ^= flip;
			if (how & 1)
				reached.roamed++;
			wg_device_receive(dev, buf, captured_len[k], ep(how & 1 ? "198.51.100.7:40000" : "192.0.2.2:51821"),
					  how & 2, now);
			break;
		}
		case 2: {
			size_t len = at < size ? data[at++] : 0;
			if (len > size - at)
				len = size - at;
			memcpy(buf, data + at, len);
			at += len;
			wg_device_receive(dev, buf, len, ep("192.0.2.2:51821"), false, now);
			break;
		}
		case 3: {
			uint64_t secs = at < size ? data[at++] : 1;
			for (uint64_t t = 0; t < secs; t++) {
				now += 1000;
				wg_device_tick(dev, now);
				wg_device_tick(other, now);
			}
			break;
		}
		case 4: {
			uint8_t dst = at < size ? data[at++] : 2;
			wg_device_send(dev, buf, ipv4(buf, 60, 1, dst, NULL, 0), now);
			break;
		}
		case 5:
			wg_peer_initiate(other, other_peer, now);
			break;
		}
	}
	reached.replayed += c->replayed_data - replayed0;
	reached.not_allowed += c->not_allowed - not_allowed0;
	reached.bad_data += c->bad_data - bad0;
	reached.handshakes += c->handshakes - hs0;
	wg_device_free(dev);
	wg_device_free(other);
	dev = other = NULL;
	return 0;
}
