/* libFuzzer: any datagram into a device with a peer and a live session:
 * dropped and counted or taken, never a crash. The first byte picks whether
 * it arrives directly or through a relay. */
#include "wg/wg.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static struct wg_device *dev, *other;
static struct wg_peer *peer;

static int send_cb(void *ctx, struct wg_peer *p, const struct wg_endpoint *ep, const uint8_t *buf, size_t len)
{
	(void)p;
	(void)ep;
	/* Let the other side answer, so sessions really get made. */
	if (ctx == dev && other) {
		static uint8_t copy[70000];
		struct wg_endpoint from;
		if (len <= sizeof(copy)) {
			memcpy(copy, buf, len);
			wg_endpoint_parse("192.0.2.1:1", &from);
			wg_device_receive(other, copy, len, &from, false, 1000);
		}
	}
	return 0;
}

static void deliver_cb(void *ctx, struct wg_peer *p, const uint8_t *pkt, size_t len)
{
	(void)ctx;
	(void)p;
	(void)pkt;
	(void)len;
}

static void setup(void)
{
	uint8_t k1[32] = { 1 }, k2[32] = { 2 }, net[4] = { 10, 0, 0, 0 };
	struct wg_endpoint ep;

	if (sodium_init() < 0)
		abort();
	dev = wg_device_new(send_cb, deliver_cb, NULL);
	other = wg_device_new(send_cb, deliver_cb, NULL);
	wg_device_set_private_key(dev, k1);
	wg_device_set_private_key(other, k2);
	peer = wg_peer_add(dev, wg_device_public_key(other));
	wg_peer_add(other, wg_device_public_key(dev));
	wg_endpoint_parse("192.0.2.2:2", &ep);
	wg_peer_set_endpoint(peer, &ep);
	wg_peer_add_allowed_ip(dev, peer, 4, net, 8);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[70000];
	static uint64_t now = 1000;
	struct wg_endpoint from;

	if (!dev)
		setup();
	if (size < 1 || size - 1 > sizeof(buf))
		return 0;
	memcpy(buf, data + 1, size - 1);
	wg_endpoint_parse("192.0.2.2:2", &from);
	wg_device_receive(dev, buf, size - 1, &from, data[0] & 1, now);
	/* And as an inner packet to send. */
	memcpy(buf, data + 1, size - 1);
	wg_device_send(dev, buf, size - 1, now);
	now += 10;
	wg_device_tick(dev, now);
	return 0;
}
