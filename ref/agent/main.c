/* punchlab-agent: a member of the reference mesh. */
#include "agent.h"
#include "../../lib/util/timeutil.h"
#include "../../lib/util/version.h"

#include <dirent.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: punchlab-agent up [--config FILE] [--KEY VALUE ...] [-v]\n"
	"       punchlab-agent status [--interface NAME] [--json | --address] [--wait S]\n"
	"       punchlab-agent genkey | pubkey\n"
	"       punchlab-agent --version\n"
	"\n"
	"up: join the mesh and run in the foreground until SIGINT/SIGTERM (SIGHUP: read\n"
	"the configuration again). WireGuard\n"
	"(userspace, on a TUN device), discovery and punching share one UDP socket;\n"
	"traffic goes over the introducer's relay from the first packet and moves to\n"
	"a direct path when one is found. `wg show IFNAME` works too.\n"
	"Every configuration key can be a flag (--interface m0 is interface = m0):\n"
	"  private-key-file FILE   our key (`punchlab-agent genkey > FILE`, or `wg genkey`)\n"
	"  introducer ADDR1[:PORT] ADDR2[:PORT]   the introducer's two addresses (port 3478);\n"
	"                          DNS names too, resolved again when it stops answering\n"
	"  introducer6 ADDR6       its IPv6 address (its listen6): registered on too\n"
	"                          (alone, on a host without IPv4)\n"
	"  introducer-key KEY      the introducer's public key (pinned)\n"
	"  interface NAME          the TUN device (default plmesh0)\n"
	"  name NAME               how peers see us (an allowlist's name wins)\n"
	"  join-secret SECRET      to join without being on the allowlist\n"
	"  listen-port PORT        our UDP port (default: any)\n"
	"  mtu N, keepalive SECONDS (default 10), ping-interval-ms N (default 1000)\n"
	"  probe-impossible yes|no  punch even peers the NATs say cannot go direct (default no)\n"
	"  peers all|on-demand     every member as a peer (default), or only those we\n"
	"                          have packets for (meshes of thousands)\n"
	"\n"
	"status: each peer's mesh address, path (direct endpoint or relay), RTT,\n"
	"last handshake, bytes each way, and why it is relayed when it is.\n"
	"  --address   only this agent's mesh address (for scripts)\n"
	"  --wait S    first wait up to S seconds until the agent is registered with\n"
	"              the introducer and knows a peer (with --address: until it has\n"
	"              one); exit 1 and say what is missing\n"
	"\n"
	"genkey: a new private key on standard output; pubkey: the public key of the\n"
	"private key on standard input (as `wg genkey` and `wg pubkey`).\n";

static volatile int stop, hup;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		hup = 1;
	else
		stop = 1;
}

/* The agents' interfaces here (their status sockets), space-separated
 * into all; the only one into out. Returns how many. */
static int interfaces(char *out, size_t len, char *all, size_t alllen)
{
	DIR *d = opendir(MESH_STATUS_DIR);
	struct dirent *e;
	size_t off = 0;
	int n = 0;

	all[0] = '\0';
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l > 5 && !strcmp(e->d_name + l - 5, ".sock")) {
			snprintf(out, len, "%.*s", (int)(l - 5), e->d_name);
			if (off < alllen)
				off += (size_t)snprintf(all + off, alllen - off, "%s%.*s", n ? " " : "", (int)(l - 5), e->d_name);
			n++;
		}
	}
	closedir(d);
	return n;
}

static int cmd_status(int argc, char **argv)
{
	char ifname[64] = "", *end;
	enum status_request req = STATUS_TEXT;
	long wait_s = 0;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--json") && req != STATUS_ADDRESS)
			req = STATUS_JSON;
		else if (!strcmp(argv[i], "--address") && req != STATUS_JSON)
			req = STATUS_ADDRESS;
		else if (!strcmp(argv[i], "--interface") && i + 1 < argc)
			snprintf(ifname, sizeof(ifname), "%s", argv[++i]);
		else if (!strcmp(argv[i], "--wait") && i + 1 < argc) {
			wait_s = strtol(argv[++i], &end, 10);
			if (*end || end == argv[i] || wait_s < 1 || wait_s > 3600) {
				fprintf(stderr, "punchlab-agent status: --wait takes 1 to 3600 seconds, not \"%s\"\n", argv[i]);
				return 2;
			}
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(usage, stdout);
			return 0;
		} else {
			fprintf(stderr, "punchlab-agent status: unexpected \"%s\"%s\n%s", argv[i],
				!strcmp(argv[i], "--json") || !strcmp(argv[i], "--address") ? " (--json and --address: one of them)" : "",
				usage);
			return 2;
		}
	}
	if (!ifname[0]) {
		char all[512];
		int n = interfaces(ifname, sizeof(ifname), all, sizeof(all));
		if (n != 1) {
			if (n)
				fprintf(stderr, "punchlab-agent status: several agents run here (%s); name one with --interface NAME\n",
					all);
			else
				fprintf(stderr, "punchlab-agent status: no agent runs here (no socket in %s)\n", MESH_STATUS_DIR);
			return 1;
		}
	}
	return status_print(ifname, req, (int)wait_s) ? 1 : 0;
}

/* The configuration from the command line (and the files it names). 0,
 * 1: --help was asked, or -1 with err. */
static int load(struct agent_conf *conf, int argc, char **argv, bool *verbose, char *err, size_t errlen)
{
	int ret;

	agent_conf_defaults(conf);
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			return 1;
		} else if (!strcmp(argv[i], "-v")) {
			*verbose = true;
		} else if ((ret = agent_conf_arg(conf, argc, argv, &i, err, errlen)) < 0) {
			return -1;
		} else if (ret == 0) {
			snprintf(err, errlen, "up: unexpected \"%s\"\n%s", argv[i], usage);
			return -1;
		}
	}
	return agent_conf_check(conf, err, errlen) ? -1 : 0;
}

/* SIGHUP: the configuration read again and what can change applied now. */
static void reload(struct agent *a, int argc, char **argv)
{
	static struct agent_conf c;
	bool verbose = false;
	char err[600];

	if (load(&c, argc, argv, &verbose, err, sizeof(err))) {
		agent_log(a, "reload: %s; the configuration stays as it was", err);
		return;
	}
	if (c.warning[0])
		agent_log(a, "%s", c.warning);
	if (agent_conf_resolve(&c, err, sizeof(err)))
		agent_log(a, "reload: %s; trying again every 5 s", err);
	agent_reconfigure(a, &c, time_now_ms());
	sodium_memzero(c.private_key, sizeof(c.private_key));
}

/* Once its device and sockets are open the agent needs one power of
 * root: CAP_NET_ADMIN, for its interface's addresses and routes. Every
 * other capability goes, from the bounding set too, and no exec can
 * bring one back. (It stays uid 0, so it can still read its root-owned
 * configuration on SIGHUP and remove its sockets at the end.) */
static int keep_only_net_admin(char *err, size_t errlen)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (geteuid() != 0)
		return 0; /* nothing to drop */
	for (int cap = 0; cap < 64; cap++)
		if (cap != CAP_NET_ADMIN && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno == EINVAL)
			break; /* past the kernel's last capability */
	memset(d, 0, sizeof(d));
	d[0].effective = d[0].permitted = 1u << CAP_NET_ADMIN;
	if (syscall(SYS_capset, &h, d) || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		snprintf(err, errlen, "cannot give up root's other powers: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static int cmd_up(int argc, char **argv)
{
	static struct agent_conf conf;
	static struct agent a;
	struct sigaction sa;
	char err[600];
	bool verbose = false;
	int ret;

	if ((ret = load(&conf, argc, argv, &verbose, err, sizeof(err))) == 1) {
		fputs(usage, stdout);
		return 0;
	} else if (ret) {
		fprintf(stderr, "punchlab-agent: %s\n", err);
		return 2;
	}
	if (conf.warning[0])
		fprintf(stderr, "punchlab-agent: %s\n", conf.warning);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((ret = agent_start(&a, &conf, err, sizeof(err)))) {
		fprintf(stderr, "punchlab-agent: %s\n", err);
		agent_stop(&a);
		return 1;
	}
	sodium_memzero(conf.private_key, sizeof(conf.private_key));
	if ((ret = keep_only_net_admin(err, sizeof(err)))) {
		fprintf(stderr, "punchlab-agent: %s\n", err);
		agent_stop(&a);
		return 1;
	}
	a.log_verbose = verbose;
	while ((ret = agent_run(&a, &stop, &hup)) == 1) {
		hup = 0;
		reload(&a, argc, argv);
	}
	agent_stop(&a);
	return ret ? 1 : 0;
}

/* genkey: a new private key; pubkey: the public key of the one read from
 * standard input. As wireguard-tools writes them, one line of base64. */
static int cmd_key(bool generate)
{
	uint8_t priv[KEY_LEN], pub[KEY_LEN];
	char b64[KEY_B64_LEN], line[128];

	if (generate) {
		key_generate(priv);
		key_format(priv, b64);
	} else {
		size_t n = fread(line, 1, sizeof(line) - 1, stdin);
		line[n] = '\0';
		line[strcspn(line, " \t\r\n")] = '\0';
		if (key_parse(line, priv)) {
			fprintf(stderr, "punchlab-agent pubkey: standard input is not a private key (44 characters of base64)\n");
			return 1;
		}
		key_public(pub, priv);
		key_format(pub, b64);
	}
	sodium_memzero(priv, sizeof(priv));
	sodium_memzero(line, sizeof(line));
	printf("%s\n", b64);
	sodium_memzero(b64, sizeof(b64));
	return fflush(stdout) ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0)
		return 1;
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("punchlab-agent %s (mesh protocol %d)\n", PL_VERSION, MESH_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "up"))
		return cmd_up(argc - 2, argv + 2);
	if (!strcmp(argv[1], "status"))
		return cmd_status(argc - 2, argv + 2);
	if ((!strcmp(argv[1], "genkey") || !strcmp(argv[1], "pubkey")) && argc == 2)
		return cmd_key(argv[1][0] == 'g');
	fprintf(stderr, "punchlab-agent: unknown command \"%s\"\n%s", argv[1], usage);
	return 2;
}
