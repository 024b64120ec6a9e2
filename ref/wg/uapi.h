/* The cross-platform WireGuard userspace API (the text protocol `wg`
 * speaks over /var/run/wireguard/IFNAME.sock), as a pure function over a
 * request and a device, so it can be tested and fuzzed without sockets. */
#ifndef PL_WG_UAPI_H
#define PL_WG_UAPI_H

#include "wg.h"

#include <stddef.h>

#define WG_UAPI_DIR "/var/run/wireguard"
#define WG_UAPI_MAX_REQUEST (1 << 20)

struct wg_uapi_hooks {
	/* listen_port changed: rebind; return 0 or a negative errno. */
	int (*set_listen_port)(void *ctx, uint16_t port);
	void *ctx;
};

/* Answer one request ("get=1\n\n" or "set=1\n...\n\n") into out (at most
 * cap bytes, NUL-terminated). Returns the answer's length. A malformed set
 * is refused whole with errno=22 and leaves the device as it was up to the
 * offending line (as wireguard-go does). */
size_t wg_uapi_handle(struct wg_device *dev, const char *req, size_t len, char *out, size_t cap,
		      const struct wg_uapi_hooks *hooks);

/* The UAPI socket WG_UAPI_DIR/IFNAME.sock: listen on it (path gets its
 * name, for unlinking at exit); returns the fd or a negative errno. */
int wg_uapi_listen(const char *ifname, char *path, size_t pathlen);
/* Accept one conversation on the listening fd: read until the blank line,
 * answer (holding the device lock), close. 0, or accept's -errno (-EMFILE:
 * out of descriptors; stop polling fd for a while rather than spin). */
int wg_uapi_serve(int fd, struct wg_device *dev, const struct wg_uapi_hooks *hooks);

#endif
