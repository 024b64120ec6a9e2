/* punchlab fault [--run ID] KIND TARGET [ARG] */
#include "cmd.h"
#include "../fault/fault.h"
#include "../../lib/util/log.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
	"usage: punchlab fault [--run ID] nat-reboot ROUTER [renumber]\n"
	"       punchlab fault [--run ID] mapping-expire ROUTER\n"
	"       punchlab fault [--run ID] port-exhaust ROUTER N\n"
	"       punchlab fault [--run ID] mtu-blackhole ROUTER [BYTES]\n"
	"       punchlab fault [--run ID] link ROUTER down|up\n"
	"       punchlab fault [--run ID] kill HOST [PROGRAM]\n"
	"       punchlab fault [--run ID] restart HOST PROGRAM\n"
	"       punchlab fault [--run ID] sleep|wake HOST\n"
	"       punchlab fault [--run ID] roam HOST SEGMENT\n"
	"\n"
	"Break a running topology the way real networks break:\n"
	"  nat-reboot      the router forgets every conntrack entry and its NAT maps;\n"
	"                  with renumber it comes back with a new public address\n"
	"  mapping-expire  only its UDP mappings go, as after an idle timeout\n"
	"  port-exhaust    N of its external ports are taken: once the rest are mapped,\n"
	"                  new UDP flows out are dropped (a full carrier NAT); 0 frees them\n"
	"  mtu-blackhole   every packet longer than BYTES (default 1280) that reaches the\n"
	"                  router is dropped without an ICMP error, as a small-MTU link\n"
	"                  behind a router that filters ICMP; fragments that fit pass; 0 ends it\n"
	"  link            its uplink (wan) goes down, or comes back up\n"
	"  kill            PROGRAM on HOST dies (SIGKILL, as a crash); without PROGRAM,\n"
	"                  every process on HOST (the host crashed)\n"
	"  restart         PROGRAM on HOST stops and starts again as the run started it\n"
	"                  (command line, user, folder as recorded then): only what\n"
	"                  `topo exec` or `punchlab run` started can be restarted\n"
	"  sleep           every process on HOST stops (SIGSTOP), as a laptop's lid closes;\n"
	"                  its NAT's mappings go on ageing\n"
	"  wake            they go on (SIGCONT)\n"
	"  roam            HOST moves to SEGMENT (another site's LAN, e.g. site-c), as a\n"
	"                  laptop changes Wi-Fi: a new link, address and default route;\n"
	"                  its processes and sockets stay\n";

int cmd_fault(int argc, char **argv)
{
	const char *id = NULL, *words[3] = { NULL, NULL, NULL };
	char err[512];
	struct instance r;
	int n = 0;

	for (int i = 1; i < argc; i++) {
		if (cmd_is_help(argv[i])) {
			fputs(usage, stdout);
			return 0;
		} else if (!strcmp(argv[i], "--run") && i + 1 < argc) {
			id = argv[++i];
		} else if (argv[i][0] != '-' && n < 3) {
			words[n++] = argv[i];
		} else {
			pl_err("fault: bad argument \"%s\"", argv[i]);
			fputs(usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (n < 2) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	if (cmd_need_root("fault"))
		return EXIT_USAGE;
	instance_reap_dead();
	if (instance_pick(id, &r, err, sizeof(err))) {
		pl_err("%s", err);
		return EXIT_USAGE;
	}
	if (fault_apply(&r, words[0], words[1], words[2], err, sizeof(err))) {
		pl_err("fault: %s", err);
		return EXIT_USAGE;
	}
	printf("run %s: %s %s%s%s done", r.id, words[0], words[1], words[2] ? " " : "", words[2] ? words[2] : "");
	for (int i = 0; words[2] && !strcmp(words[2], "renumber") && i < r.n_renumbered; i++)
		if (!strcmp(r.renumbered[i], words[1])) {
			char a[16];
			inet_ntop(AF_INET, &r.renumbered_addr[i], a, sizeof(a));
			printf("; %s's public address is now %s", words[1], a);
		}
	putchar('\n');
	return 0;
}
