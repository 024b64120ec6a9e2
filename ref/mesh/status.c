#include "status.h"

#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

static const char *const request_names[] = { "text", "json", "ready", "address" };

const char *mesh_status_request_name(enum status_request req)
{
	return (unsigned)req < 4 ? request_names[req] : "text";
}

enum status_request mesh_status_request_parse(const char *line)
{
	for (int i = 0; i < 4; i++) {
		size_t l = strlen(request_names[i]);
		if (!strncmp(line, request_names[i], l) && (line[l] == '\n' || line[l] == '\0'))
			return (enum status_request)i;
	}
	return STATUS_TEXT;
}

int mesh_status_fetch(const char *ifname, bool json, char *buf, size_t len)
{
	return mesh_status_ask(ifname, json ? STATUS_JSON : STATUS_TEXT, buf, len);
}

int mesh_status_ask(const char *ifname, enum status_request req, char *buf, size_t len)
{
	char line[16];
	size_t ll;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), ret;
	size_t got = 0;
	ssize_t n = 0;

	if (len)
		buf[0] = '\0';
	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s.sock", MESH_STATUS_DIR, ifname);
	ll = (size_t)snprintf(line, sizeof(line), "%s\n", mesh_status_request_name(req));
	/* An agent that is stopped (or stuck) still has its socket listening:
	 * connections queue until its backlog is full (then connect blocks),
	 * and a question taken is never answered. Both wait this long. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &(struct timeval){ .tv_sec = MESH_STATUS_TIMEOUT_S }, sizeof(struct timeval));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){ .tv_sec = MESH_STATUS_TIMEOUT_S }, sizeof(struct timeval));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) || write(fd, line, ll) != (ssize_t)ll) {
		ret = errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
		close(fd);
		return ret ? ret : -EIO;
	}
	while (got + 1 < len && (n = read(fd, buf + got, len - 1 - got)) > 0)
		got += (size_t)n;
	ret = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? -ETIMEDOUT : 0;
	buf[got] = '\0';
	close(fd);
	if (ret)
		buf[0] = '\0';   /* half an answer is none */
	return ret ? ret : (int)got;
}
