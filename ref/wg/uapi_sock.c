#include "uapi.h"
#include "wg.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

int wg_uapi_listen(const char *ifname, char *path, size_t pathlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	mkdir(WG_UAPI_DIR, 0755);
	snprintf(path, pathlen, "%s/%s.sock", WG_UAPI_DIR, ifname);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 8)) {
		int ret = -errno;
		close(fd);
		return ret;
	}
	chmod(path, 0600);
	return fd;
}

int wg_uapi_serve(int fd, struct wg_device *dev, const struct wg_uapi_hooks *hooks)
{
	static char req[65536], out[1 << 20];
	struct timeval tv = { 1, 0 };
	size_t len = 0;
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

	if (c < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (len < sizeof(req) - 1) {
		ssize_t n = read(c, req + len, sizeof(req) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len >= 2 && req[len - 1] == '\n' && req[len - 2] == '\n')
			break;
	}
	if (len) {
		wg_device_lock(dev);
		size_t n = wg_uapi_handle(dev, req, len, out, sizeof(out), hooks);
		wg_device_unlock(dev);
		if (write(c, out, n) < 0)
			perror("uapi write");
	}
	close(c);
	return 0;
}
