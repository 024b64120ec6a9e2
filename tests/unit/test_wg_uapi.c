/* The UAPI text protocol: what `wg set` sends is applied, what `wg show`
 * reads comes back, and malformed requests get errno=22. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "wg/uapi.h"

static int send_cb(void *ctx, struct wg_peer *p, const struct wg_endpoint *ep, const uint8_t *buf, size_t len)
{
	(void)ctx, (void)p, (void)ep, (void)buf, (void)len;
	return 0;
}

static void deliver_cb(void *ctx, struct wg_peer *p, const uint8_t *pkt, size_t len)
{
	(void)ctx, (void)p, (void)pkt, (void)len;
}

static uint16_t rebound;

static int rebind(void *ctx, uint16_t port)
{
	(void)ctx;
	rebound = port;
	return 0;
}

static char out[65536];

static const char *ask(struct wg_device *dev, const char *req)
{
	struct wg_uapi_hooks hooks = { rebind, NULL };

	wg_uapi_handle(dev, req, strlen(req), out, sizeof(out), &hooks);
	return out;
}

static void set_then_get_round_trips(void **state)
{
	struct wg_device *dev = wg_device_new(send_cb, deliver_cb, NULL);
	const char *r;

	(void)state;
	r = ask(dev, "set=1\n"
		     "private_key=e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a\n"
		     "listen_port=12912\n"
		     "public_key=b85996fecc9c7f1fc6d2572a76eda11d59bcd20be8e543b15ce4bd85a8e75a33\n"
		     "preshared_key=188515093e952f5f22e865cef3012e72f8b5f0b598ac0309d5dacce3b70fcf52\n"
		     "endpoint=192.0.2.7:51820\n"
		     "persistent_keepalive_interval=25\n"
		     "allowed_ip=10.0.0.0/8\n"
		     "allowed_ip=fd00::/48\n"
		     "protocol_version=1\n\n");
	assert_string_equal(r, "errno=0\n\n");
	assert_int_equal(rebound, 12912);
	r = ask(dev, "get=1\n\n");
	assert_non_null(strstr(r, "private_key=e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a\n"));
	assert_non_null(strstr(r, "listen_port=12912\n"));
	assert_non_null(strstr(r, "public_key=b85996fecc9c7f1fc6d2572a76eda11d59bcd20be8e543b15ce4bd85a8e75a33\n"));
	assert_non_null(strstr(r, "preshared_key=188515093e952f5f22e865cef3012e72f8b5f0b598ac0309d5dacce3b70fcf52\n"));
	assert_non_null(strstr(r, "endpoint=192.0.2.7:51820\n"));
	assert_non_null(strstr(r, "persistent_keepalive_interval=25\n"));
	assert_non_null(strstr(r, "allowed_ip=10.0.0.0/8\n"));
	assert_non_null(strstr(r, "allowed_ip=fd00::/48\n"));
	assert_non_null(strstr(r, "last_handshake_time_sec=0\n"));
	assert_non_null(strstr(r, "errno=0\n\n"));
	/* Remove the peer again. */
	r = ask(dev, "set=1\npublic_key=b85996fecc9c7f1fc6d2572a76eda11d59bcd20be8e543b15ce4bd85a8e75a33\nremove=true\n\n");
	assert_string_equal(r, "errno=0\n\n");
	assert_null(strstr(ask(dev, "get=1\n\n"), "public_key="));
	wg_device_free(dev);
}

static void malformed_requests_get_einval(void **state)
{
	static const char *const bad[] = {
		"hello\n\n",
		"get=2\n\n",
		"set=1\nlisten_port=99999\n\n",
		"set=1\nprivate_key=zz\n\n",
		"set=1\nendpoint=1.2.3.4:5\n\n", /* no peer section yet */
		"set=1\npublic_key=b85996fecc9c7f1fc6d2572a76eda11d59bcd20be8e543b15ce4bd85a8e75a33\nallowed_ip=10.0.0.0/33\n\n",
		"set=1\nwhatever=1\n\n",
		"set=1\nlisten_port=1",
	};
	struct wg_device *dev = wg_device_new(send_cb, deliver_cb, NULL);

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (strcmp(ask(dev, bad[i]), "errno=22\n\n"))
			fail_msg("request %zu answered \"%s\"", i, out);
	wg_device_free(dev);
}

/* replace_peers frees every peer, the one whose section we are in too:
 * what follows it must not write to that peer (it did: a use after free,
 * issue 13 #12). A peer's keys after it need a new public_key. */
static void replace_peers_ends_the_peer_section_it_freed(void **state)
{
	static const char *const pk = "b85996fecc9c7f1fc6d2572a76eda11d59bcd20be8e543b15ce4bd85a8e75a33";
	struct wg_device *dev = wg_device_new(send_cb, deliver_cb, NULL);
	char req[512];
	const char *r;

	(void)state;
	snprintf(req, sizeof(req), "set=1\npublic_key=%s\nreplace_peers=true\nendpoint=192.0.2.9:1\n\n", pk);
	assert_string_equal(ask(dev, req), "errno=22\n\n");
	assert_null(strstr(ask(dev, "get=1\n\n"), "public_key="));
	/* Then a peer again: its own section. */
	snprintf(req, sizeof(req), "set=1\nreplace_peers=true\npublic_key=%s\nendpoint=192.0.2.9:1\n\n", pk);
	assert_string_equal(ask(dev, req), "errno=0\n\n");
	r = ask(dev, "get=1\n\n");
	assert_non_null(strstr(r, "endpoint=192.0.2.9:1\n"));
	/* remove=true, then replace_peers, then the peer's keys: refused too. */
	snprintf(req, sizeof(req), "set=1\npublic_key=%s\nremove=true\nreplace_peers=true\nallowed_ip=10.0.0.0/8\n\n", pk);
	assert_string_equal(ask(dev, req), "errno=22\n\n");
	wg_device_free(dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(set_then_get_round_trips),
		cmocka_unit_test(malformed_requests_get_einval),
		cmocka_unit_test(replace_peers_ends_the_peer_section_it_freed),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
