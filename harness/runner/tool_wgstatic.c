/* The `wireguard-static` adapter: the seed approach. Each side learns its
 * public endpoint by STUN from the very port WireGuard will use, before
 * wireguard-go binds it; the endpoints go into a registry (a file here, as
 * DNS-SD endpoint sharing would publish them); each side's wireguard-go is
 * then configured with the other's, statically, with a 1 s persistent
 * keepalive. No relay: a pair connects directly or not at all. */
#include "runner.h"
#include "../natcheck/natcheck.h"
#include "../../lib/nl/rtnl.h"
#include "../stun/stun.h"
#include "../topo/build.h"
#include "../../lib/util/netns.h"
#include "../../lib/util/proc.h"
#include "../../lib/util/timeutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define WG_PORT 51820
#define STUN_PORT 3478

struct wgs_state {
	char ifname[2][16];
	pid_t pids[3];              /* wireguard-go on a and b, the STUN server */
};

static bool wgs_available(char *why, size_t len)
{
	return tool_install("wireguard-go", "wireguard-go", why, len) && tool_install("wg", "wireguard-tools", why, len);
}

static void wgs_version(char *buf, size_t len)
{
	char *argv[] = { "wireguard-go", "--version", NULL };

	tool_first_line(argv, "wireguard-go", buf, len);
}

struct stun_arg {
	uint32_t server;
	struct stun_addr mapped;
};

/* A binding request from WG_PORT (which wireguard-go takes next). */
static int stun_from_wg_port(void *p)
{
	struct stun_arg *a = p;
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(WG_PORT) },
			   to = { .sin_family = AF_INET, .sin_addr.s_addr = a->server, .sin_port = htons(STUN_PORT) };
	struct stun_msg req, resp;
	uint8_t buf[STUN_MAX_MSG];
	const char *why;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = -ETIMEDOUT;

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&me, sizeof(me))) {
		ret = -errno;
		goto out;
	}
	memset(&req, 0, sizeof(req));
	req.type = STUN_BINDING_REQUEST;
	randombytes_buf(req.txid, sizeof(req.txid));
	for (int tries = 0; tries < 5 && ret; tries++) {
		size_t n = stun_encode(&req, buf, sizeof(buf));
		struct pollfd pf = { fd, POLLIN, 0 };
		const struct stun_addr *m;
		sendto(fd, buf, n, 0, (struct sockaddr *)&to, sizeof(to));
		if (poll(&pf, 1, 300) != 1)
			continue;
		ssize_t got = recv(fd, buf, sizeof(buf), 0);
		if (got > 0 && stun_decode(buf, (size_t)got, &resp, &why) == 0 && !memcmp(resp.txid, req.txid, 12) &&
		    (m = stun_reflexive(&resp))) {
			a->mapped = *m;
			ret = 0;
		}
	}
out:
	close(fd);
	return ret;
}

static int wgs_start(struct tool_ctx *t, int timeout_ms, char *err, size_t errlen)
{
	struct wgs_state *s = calloc(1, sizeof(*s));
	static const char *const hosts[] = { "a", "b" };
	char ns[2][64], pub[2][45], key[2][300], ep[2][32], registry[512], path[300];
	uint32_t i0 = topo_net_addr(t->net, "introducer", 0), i1 = topo_net_addr(t->net, "introducer", 1), mesh[2];
	char ins[64];
	int ret;

	if (!s)
		return -ENOMEM;
	t->priv = s;
	if (sodium_init() < 0)
		return -EIO;
	/* The registry's STUN server, on the introducer host. */
	if (topo_node_netns(t->inst, "introducer", ins, sizeof(ins)) ||
	    (ret = natcheck_start_stun_server(ins, i0, i1, &s->pids[2]))) {
		snprintf(err, errlen, "cannot start the STUN server on the introducer host");
		return -EIO;
	}
	instance_note_pid((struct instance *)t->inst, s->pids[2]);
	registry[0] = '\0';
	for (int k = 0; k < 2; k++) {
		struct stun_arg sa = { i0, { 0 } };
		struct in_addr ia;
		topo_node_netns(t->inst, hosts[k], ns[k], sizeof(ns[k]));
		if ((ret = netns_call(ns[k], stun_from_wg_port, &sa))) {
			snprintf(err, errlen, "%s: no STUN answer from port %d: %s", hosts[k], WG_PORT, strerror(-ret));
			return ret;
		}
		ia.s_addr = sa.mapped.addr;
		snprintf(ep[k], sizeof(ep[k]), "%s:%u", inet_ntoa(ia), sa.mapped.port);
		snprintf(key[k], sizeof(key[k]), "%s/%s.key", t->dir, hosts[k]);
		if ((ret = tool_keypair(key[k], pub[k])))
			return ret;
		snprintf(registry + strlen(registry), sizeof(registry) - strlen(registry), "%s %s %s\n", hosts[k], pub[k], ep[k]);
	}
	snprintf(path, sizeof(path), "%s/registry", t->dir);
	tool_write_file(path, registry);
	setenv("WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD", "1", 1);
	for (int k = 0; k < 2; k++) {
		char log[16], sock[64];
		char *argv[] = { "wireguard-go", "-f", s->ifname[k], NULL };
		struct stat st;
		snprintf(s->ifname[k], sizeof(s->ifname[k]), "w%s%s", t->inst->id, hosts[k]);
		snprintf(log, sizeof(log), "%s.log", hosts[k]);
		if ((ret = tool_spawn(t, hosts[k], argv, log, &s->pids[k]))) {
			snprintf(err, errlen, "cannot start wireguard-go on %s: %s", hosts[k], strerror(-ret));
			return ret;
		}
		snprintf(sock, sizeof(sock), "/var/run/wireguard/%s.sock", s->ifname[k]);
		for (int w = 0; stat(sock, &st) && w < timeout_ms; w += 50)
			time_sleep_ms(50);
	}
	for (int k = 0; k < 2; k++) {
		char peer_ip[24], port[8];
		char *argv[] = { "wg", "set", s->ifname[k], "private-key", key[k], "listen-port", port, "peer", pub[1 - k],
				 "endpoint", ep[1 - k], "allowed-ips", peer_ip, "persistent-keepalive", "1", NULL };
		mesh[k] = htonl(0x0a4d0001u + (uint32_t)k); /* 10.77.0.1, .2 */
		snprintf(peer_ip, sizeof(peer_ip), "10.77.0.%d/32", 2 - k);
		snprintf(port, sizeof(port), "%d", WG_PORT);
		if ((ret = proc_run(ns[k], argv, -1, -1)) != 0) {
			snprintf(err, errlen, "wg set on %s failed (%d)", hosts[k], ret);
			return -EIO;
		}
		if ((ret = rtnl_addr_add(ns[k], s->ifname[k], mesh[k], 24)) || (ret = rtnl_link_up(ns[k], s->ifname[k]))) {
			snprintf(err, errlen, "cannot address %s on %s: %s", s->ifname[k], hosts[k], strerror(-ret));
			return ret;
		}
	}
	t->addr_a = mesh[0];
	t->addr_b = mesh[1];
	return 0;
}

static void wgs_stop(struct tool_ctx *t)
{
	struct wgs_state *s = t->priv;

	if (s)
		tool_stop_all(t, s->pids, 3);
}

const struct runner_tool runner_tool_wgstatic = {
	.name = "wireguard-static",
	.what = "wireguard-go with endpoints from a registry, each learned by STUN from its WireGuard port",
	.available = wgs_available,
	.version = wgs_version,
	.start = wgs_start,
	.said_path = NULL,
	.stop = wgs_stop,
};
