/* punchlab stun-server, punchlab stun-probe */
#include "cmd.h"
#include "../stun/probe.h"
#include "../stun/server.h"
#include "../../lib/util/log.h"
#include "../../lib/util/text.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char server_usage[] =
	"usage: punchlab stun-server ADDR [ALT_ADDR] [ADDR6 [ALT_ADDR6]] [--port P] [--alt-port P] [--ready-fd FD] [-v]\n"
	"\n"
	"An RFC 5389 STUN server with RFC 5780 behaviour discovery: it answers\n"
	"binding requests on ADDR and ALT_ADDR, ports P (3478) and the alternate\n"
	"port (3479), honours CHANGE-REQUEST and RESPONSE-PORT, and reports\n"
	"OTHER-ADDRESS and RESPONSE-ORIGIN. Without ALT_ADDR it cannot change\n"
	"address (CHANGE-REQUEST gets 420). IPv6 addresses (ADDR6, ALT_ADDR6) are\n"
	"answered too, each client in its own family. Runs until SIGINT/SIGTERM.\n"
	"Anyone can forge a source address, so no answer is larger than its request\n"
	"(or 40 bytes, the least answer there is; 52 to an IPv6 client; clients that want every attribute\n"
	"pad their requests, RFC 5780 PADDING), and each source address gets 200\n"
	"answers, then 100 a second.\n";

static const char probe_usage[] =
	"usage: punchlab stun-probe SERVER[:PORT] [--json] [--timeouts[=MAX_S]] [--wait MS]\n"
	"       punchlab stun-probe SERVER[:PORT] --mapped-from PORT [--wait MS]\n"
	"       (SERVER: a host name, an IPv4 address, or an IPv6 address in brackets,\n"
	"       [2001:db8::10]:3478, for the probe over IPv6; --mapped-from is IPv4 only)\n"
	"\n"
	"RFC 5780 NAT behaviour discovery against a STUN server that has two\n"
	"addresses (punchlab stun-server, or any RFC 5780 server): mapping,\n"
	"filtering, port allocation, hairpinning and whether an unsolicited inbound\n"
	"packet changes the next mapping. --timeouts also measures the mapping\n"
	"lifetime, checking every 15 s up to MAX_S (default 180): it takes that long.\n"
	"--wait is the time to wait for each answer (default 250 ms, 3 tries).\n"
	"--mapped-from PORT: one binding request from local UDP port PORT, and the\n"
	"address and port the server saw printed as ADDR:PORT; the port is free again\n"
	"when it returns (a tool that binds it next is reached there).\n";

static volatile int server_stop;

static void on_server_signal(int sig)
{
	(void)sig;
	server_stop = 1;
}

static bool parse_port(const char *s, uint16_t *port)
{
	unsigned long v;

	if (!text_parse_uint(s, 1, 65535, &v))
		return false;
	*port = (uint16_t)v;
	return true;
}

int cmd_stun_server(int argc, char **argv)
{
	struct stun_server_cfg cfg = { .port = 3478, .alt_port = 3479, .ready_fd = -1 };
	struct stun_server_stats st;
	struct sigaction sa;
	int addrs = 0, addrs6 = 0, ret;
	char err[256];

	for (int i = 1; i < argc; i++) {
		unsigned long v;
		if (cmd_is_help(argv[i])) {
			fputs(server_usage, stdout);
			return 0;
		} else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
			if (!parse_port(argv[++i], &cfg.port))
				goto bad;
		} else if (strcmp(argv[i], "--alt-port") == 0 && i + 1 < argc) {
			if (!parse_port(argv[++i], &cfg.alt_port))
				goto bad;
		} else if (strcmp(argv[i], "--ready-fd") == 0 && i + 1 < argc) {
			if (!text_parse_uint(argv[++i], 0, 1024, &v))
				goto bad;
			cfg.ready_fd = (int)v;
		} else if (strcmp(argv[i], "-v") == 0) {
			cfg.verbose = true;
		} else if (addrs < 2 && text_parse_ipv4(argv[i], addrs ? &cfg.alternate : &cfg.primary)) {
			addrs++;
		} else if (addrs6 < 2 && inet_pton(AF_INET6, argv[i], addrs6 ? cfg.alternate6 : cfg.primary6) == 1) {
			cfg.has6 = true;
			addrs6++;
		} else {
			goto bad;
		}
		continue;
bad:
		pl_err("stun-server: bad argument \"%s\"", argv[i]);
		fputs(server_usage, stderr);
		return EXIT_USAGE;
	}
	if (!addrs) {
		fputs(server_usage, stderr);
		return EXIT_USAGE;
	}
	if (addrs6 == 2 && !memcmp(cfg.alternate6, cfg.primary6, 16)) {
		pl_err("stun-server: ALT_ADDR6 must be a second address, not ADDR6 again (or leave it out)");
		return EXIT_USAGE;
	}
	if (addrs == 2 && cfg.alternate == cfg.primary) {
		pl_err("stun-server: ALT_ADDR must be a second address, not ADDR again (or leave it out)");
		return EXIT_USAGE;
	}
	if (cfg.alt_port == cfg.port) {
		pl_err("stun-server: --alt-port must differ from --port");
		return EXIT_USAGE;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_server_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	ret = stun_server_run(&cfg, &server_stop, &st, err, sizeof(err));
	if (ret) {
		pl_err("stun-server: %s", err);
		return EXIT_FAIL;
	}
	fprintf(stderr, "stun-server: stopped; %lu requests, %lu answered, %lu not answerable, %lu over their source's rate\n",
		st.requests, st.responses, st.dropped, st.limited);
	return 0;
}

int cmd_stun_probe(int argc, char **argv)
{
	struct stun_probe_cfg cfg = { .port = 3478, .timeout_ms = 250, .tries = 3 };
	struct nat_measured m;
	const char *server = NULL;
	bool json = false;
	uint16_t from_port = 0;
	int ret;

	for (int i = 1; i < argc; i++) {
		unsigned long v;
		if (cmd_is_help(argv[i])) {
			fputs(probe_usage, stdout);
			return 0;
		} else if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "--timeouts") == 0) {
			unsigned long max = 180;
			/* --timeouts=MAX arrives as "--timeouts" "MAX" (main.c). */
			if (i + 1 < argc && argv[i + 1][0] >= '0' && argv[i + 1][0] <= '9' &&
			    !text_parse_uint(argv[++i], 15, 3600, &max)) {
				pl_err("stun-probe: --timeouts=MAX takes 15 to 3600 seconds");
				return EXIT_USAGE;
			}
			for (unsigned t = 15; t <= max && cfg.n_points < PROBE_MAX_POINTS; t += 15)
				cfg.points[cfg.n_points++] = t;
		} else if (strcmp(argv[i], "--mapped-from") == 0 && i + 1 < argc) {
			if (!parse_port(argv[++i], &from_port)) {
				pl_err("stun-probe: --mapped-from takes a UDP port, 1 to 65535");
				return EXIT_USAGE;
			}
		} else if (strcmp(argv[i], "--wait") == 0 && i + 1 < argc) {
			if (!text_parse_uint(argv[++i], 10, 10000, &v)) {
				pl_err("stun-probe: --wait takes 10 to 10000 ms");
				return EXIT_USAGE;
			}
			cfg.timeout_ms = (int)v;
		} else if (!server && argv[i][0] != '-') {
			server = argv[i];
		} else {
			pl_err("stun-probe: bad argument \"%s\"", argv[i]);
			fputs(probe_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (!server) {
		fputs(probe_usage, stderr);
		return EXIT_USAGE;
	}
	if (server[0] == '[') {
		/* [IPv6]:PORT or [IPv6] */
		char host[64];
		const char *close_b = strchr(server, ']');
		size_t n = close_b ? (size_t)(close_b - server - 1) : 0;
		if (!close_b || n == 0 || n >= sizeof(host) || (close_b[1] && (close_b[1] != ':' || !parse_port(close_b + 2, &cfg.port)))) {
			pl_err("stun-probe: \"%s\" is not [IPv6]:PORT (e.g. [2001:db8::10]:3478)", server);
			return EXIT_USAGE;
		}
		snprintf(host, sizeof(host), "%.*s", (int)n, server + 1);
		if (inet_pton(AF_INET6, host, cfg.server6) != 1) {
			pl_err("stun-probe: \"%s\" is not an IPv6 address", host);
			return EXIT_USAGE;
		}
		cfg.v6 = true;
	} else {
		char host[256];
		const char *colon = strrchr(server, ':');
		size_t n = colon ? (size_t)(colon - server) : strlen(server);
		if (n == 0 || n >= sizeof(host) || (colon && !parse_port(colon + 1, &cfg.port))) {
			pl_err("stun-probe: \"%s\" is not HOST[:PORT] (a name or an IPv4 address; port 1 to 65535)", server);
			return EXIT_USAGE;
		}
		snprintf(host, sizeof(host), "%.*s", (int)n, server);
		if (!text_parse_ipv4(host, &cfg.server)) {
			struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_DGRAM }, *res = NULL;
			int gai = getaddrinfo(host, NULL, &hints, &res);
			if (gai || !res) {
				pl_err("stun-probe: cannot find an IPv4 address for %s: %s", host, gai ? gai_strerror(gai) : "none");
				return EXIT_USAGE;
			}
			cfg.server = ((const struct sockaddr_in *)res->ai_addr)->sin_addr.s_addr;
			freeaddrinfo(res);
		}
	}
	if (from_port && cfg.v6) {
		pl_err("stun-probe: --mapped-from is IPv4 only");
		return EXIT_USAGE;
	}
	if (from_port) {
		uint32_t addr;
		uint16_t port;
		char ip[INET_ADDRSTRLEN];
		if (json || cfg.n_points) {
			pl_err("stun-probe: --mapped-from goes without --json and --timeouts");
			return EXIT_USAGE;
		}
		if ((ret = stun_mapped_from(&cfg, from_port, &addr, &port))) {
			pl_err("stun-probe: %s", ret == -ETIMEDOUT ? "no answer from the server"
					     : ret == -EPROTO    ? "the server's answer names no address"
					     : ret == -EADDRINUSE ? "that port is taken here"
								  : strerror(-ret));
			return EXIT_FAIL;
		}
		printf("%s:%u\n", inet_ntop(AF_INET, &addr, ip, sizeof(ip)), port);
		return 0;
	}
	ret = stun_probe_run(&cfg, &m);
	if (ret) {
		pl_err("stun-probe: %s", strerror(-ret));
		return EXIT_FAIL;
	}
	if (json) {
		stun_probe_print_json(&m, stdout);
		putchar('\n');
	} else {
		stun_probe_print(&m, stdout);
	}
	return m.udp ? 0 : EXIT_MISMATCH;
}
