/* libFuzzer: the UAPI text protocol never crashes and always answers with
 * an errno line. */
#include "wg/uapi.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int send_cb(void *ctx, struct wg_peer *p, const struct wg_endpoint *ep, const uint8_t *buf, size_t len)
{
	(void)ctx;
	(void)p;
	(void)ep;
	(void)buf;
	(void)len;
	return 0;
}

static void deliver_cb(void *ctx, struct wg_peer *p, const uint8_t *pkt, size_t len)
{
	(void)ctx;
	(void)p;
	(void)pkt;
	(void)len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[1 << 16];
	static const char get[] = "get=1\n\n";
	struct wg_device *dev;
	size_t n;

	if (sodium_init() < 0)
		abort();
	dev = wg_device_new(send_cb, deliver_cb, NULL);
	n = wg_uapi_handle(dev, (const char *)data, size, out, sizeof(out), NULL);
	if (n == 0 || !strstr(out, "errno="))
		abort();
	n = wg_uapi_handle(dev, get, sizeof(get) - 1, out, sizeof(out), NULL);
	if (!strstr(out, "errno=0"))
		abort();
	wg_device_free(dev);
	return 0;
}
