#include "status.h"

#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int mesh_status_fetch(const char *ifname, bool json, char *buf, size_t len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), ret;
	size_t got = 0;
	ssize_t n;

	if (len)
		buf[0] = '\0';
	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s.sock", MESH_STATUS_DIR, ifname);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) || write(fd, json ? "json\n" : "text\n", 5) != 5) {
		ret = -errno;
		close(fd);
		return ret ? ret : -EIO;
	}
	while (got + 1 < len && (n = read(fd, buf + got, len - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(fd);
	return (int)got;
}
