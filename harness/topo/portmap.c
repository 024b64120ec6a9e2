#include "portmap.h"
#include "../nl/nftportmap.h"
#include "../stun/server.h"
#include "../../lib/util/netns.h"
#include "../../lib/util/proc.h"
#include "../../lib/util/text.h"
#include "../../lib/util/timeutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The router's LAN side: the segments it is the gateway of (bridges). */
static int lans(const struct topo_net_node *n, const struct topo_iface *out[], int max)
{
	int k = 0;

	for (int f = 0; f < n->n_ifaces && k < max; f++)
		if (n->ifaces[f].bridge && n->ifaces[f].n_addrs)
			out[k++] = &n->ifaces[f];
	return k;
}

void portmap_write_conf(const struct topo_net *net, int router, const char *run_id, const char *dir, FILE *out)
{
	const struct topo_net_node *n = &net->nodes[router];
	const struct topo_iface *lan[8];
	int k = lans(n, lan, 8);
	char a[16], p[16];

	fprintf(out, "# miniupnpd for router %s of lab run %s, written by punchlab (portmap = %s)\n", n->name, run_id,
		nat_portmap_name(n->model.portmap, p, sizeof(p)));
	fprintf(out, "ext_ifname=wan\n");
	for (int i = 0; i < k; i++)
		fprintf(out, "listening_ip=%s\n", lan[i]->ifname);
	fprintf(out, "# its outside address is reserved (a lab address): learnt by STUN from itself\n"
		     "ext_perform_stun=yes\next_stun_host=%s\next_stun_port=%d\n",
		text_ipv4(n->public_addr, a), PORTMAP_STUN_PORT);
	fprintf(out, "port=%d\nenable_upnp=%s\nenable_natpmp=%s\n", PORTMAP_HTTP_PORT,
		n->model.portmap & NAT_PORTMAP_UPNP ? "yes" : "no",
		n->model.portmap & (NAT_PORTMAP_NATPMP | NAT_PORTMAP_PCP) ? "yes" : "no");
	fprintf(out, "secure_mode=yes\nsystem_uptime=no\nlease_file=%s/miniupnpd-%s.leases\n", dir, n->name);
	fprintf(out, "upnp_table_name=%s\nupnp_nat_table_name=%s\nupnp_forward_chain=%s\nupnp_nat_chain=%s\n"
		     "upnp_nat_postrouting_chain=%s\n",
		PORTMAP_TABLE, PORTMAP_TABLE, PORTMAP_FORWARD_CHAIN, PORTMAP_NAT_CHAIN, PORTMAP_POSTROUTING_CHAIN);
	fprintf(out, "uuid=00000000-0000-4000-8000-%06x%06x\n", (unsigned)strtoul(run_id, NULL, 16) & 0xffffff,
		(unsigned)router & 0xffffff);
	for (int i = 0; i < k; i++) {
		uint32_t mask = lan[i]->plen ? htonl(~0u << (32 - lan[i]->plen)) : 0;
		fprintf(out, "allow 1024-65535 %s/%u 1024-65535\n", text_ipv4(lan[i]->addrs[0] & mask, a), lan[i]->plen);
	}
	fprintf(out, "deny 0-65535 0.0.0.0/0 0-65535\n");
}

/* Has the daemon started answering? Its log says so once its sockets are
 * bound (or says why it gave up). 1 ready, 0 not yet, -1 it refused (its
 * line saying so copied into why). */
static int log_says_ready(const char *log, unsigned portmap, char *why, size_t whylen)
{
	static const char *const refusals[] = { "Port forwarding is impossible", "does not support port forwarding",
						"Failed to init", "EXITING" };
	char buf[65536];
	int fd = open(log, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		const char *hit = strstr(buf, refusals[i]), *from = hit, *to;

		if (!hit)
			continue;
		while (from > buf && from[-1] != '\n')
			from--;
		to = strchr(hit, '\n');
		snprintf(why, whylen, "%.*s", (int)(to ? to - from : (ptrdiff_t)strlen(from)), from);
		return -1;
	}
	if (!strstr(buf, "Port forwarding is now enabled"))
		return 0;
	if ((portmap & (NAT_PORTMAP_NATPMP | NAT_PORTMAP_PCP)) && !strstr(buf, "Listening for NAT-PMP/PCP traffic"))
		return 0;
	if ((portmap & NAT_PORTMAP_UPNP) && !strstr(buf, "HTTP listening on port"))
		return 0;
	return 1;
}

int portmap_start(const struct topo_net *net, int router, struct instance *r, const char *ns, char *err, size_t errlen)
{
	const struct topo_net_node *n = &net->nodes[router];
	const struct topo_iface *lan[1];
	char conf[160], log[160], pidfile[160], a[16];
	/* its own pidfile: the default one, /var/run/miniupnpd.pid, is shared by
	 * every run, and a second router would exit "already running" */
	char *argv[] = { "miniupnpd", "-d", "-f", conf, "-P", pidfile, NULL };
	pid_t stun, daemon;
	int ret, fd, code;
	FILE *f;

	if (!lans(n, lan, 1)) {
		snprintf(err, errlen, "%s: portmap needs a LAN side (a segment it is the gateway of)", n->name);
		return -EINVAL;
	}
	if ((ret = nft_portmap_apply(ns, n->model.portmap, err, errlen)))
		return ret;
	snprintf(conf, sizeof(conf), "%s/miniupnpd-%s.conf", r->dir, n->name);
	snprintf(log, sizeof(log), "%s/miniupnpd-%s.log", r->dir, n->name);
	snprintf(pidfile, sizeof(pidfile), "%s/miniupnpd-%s.pid", r->dir, n->name);
	if (!(f = fopen(conf, "w"))) {
		snprintf(err, errlen, "%s: cannot write %s: %s", n->name, conf, strerror(errno));
		return -errno;
	}
	portmap_write_conf(net, router, r->id, r->dir, f);
	if (text_close_written(f)) {
		snprintf(err, errlen, "%s: cannot write %s", n->name, conf);
		return -EIO;
	}
	if ((fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644)) < 0) {
		snprintf(err, errlen, "%s: cannot write %s: %s", n->name, log, strerror(errno));
		return -errno;
	}
	if ((ret = stun_server_spawn(ns, n->public_addr, lan[0]->addrs[0], PORTMAP_STUN_PORT, fd, &stun))) {
		close(fd);
		snprintf(err, errlen, "%s: the STUN server miniupnpd learns its address from did not start on %s: %s",
			 n->name, text_ipv4(n->public_addr, a), strerror(-ret));
		return ret;
	}
	if ((ret = instance_note_pid(r, stun))) {
		close(fd);
		return ret;
	}
	ret = proc_spawn(ns, argv, fd, fd, &daemon);
	close(fd);
	if (ret) {
		snprintf(err, errlen, "%s: cannot start miniupnpd (apt-get install miniupnpd-nftables): %s", n->name,
			 strerror(-ret));
		return ret;
	}
	if ((ret = instance_note_command(r, daemon, argv)))
		return ret;
	for (double t0 = time_now_s();;) {
		char why[256] = "";
		int ready = log_says_ready(log, n->model.portmap, why, sizeof(why));
		if (ready > 0)
			return 0;
		if (ready < 0 || proc_wait_timeout(daemon, 0, &code) == 0 || time_now_s() - t0 > PORTMAP_READY_MS / 1000.0) {
			snprintf(err, errlen, "%s: miniupnpd did not start answering (%s%s%s): see %s", n->name,
				 ready < 0 ? "it refused to forward: " : "", why,
				 ready < 0		 ? ""
				 : proc_alive(daemon) ? "not within 10 s"
						      : "it exited; is miniupnpd-nftables installed?",
				 log);
			return -EIO;
		}
		time_sleep_ms(50);
	}
}
