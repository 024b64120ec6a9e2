/* punchlab: a NAT lab on one Linux machine. */
#include "cmd/cmd.h"
#include "util/log.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
	"usage: punchlab [-v] COMMAND [ARGS...]\n"
	"\n"
	"A NAT lab: network namespaces, veth links and kernel nftables NAT of every\n"
	"RFC 4787 type, on one Linux machine.\n"
	"\n"
	"commands:\n"
	"  topo up|exec|list|down|show   build a topology with chosen NAT models, work in it, remove it\n"
	"  nat list|show                 the NAT models, and the nft ruleset each becomes\n"
	"  nat-check [MODEL...]          measure models against their declarations\n"
	"  stun-server                   the lab's RFC 5389/5780 STUN server\n"
	"  stun-probe SERVER             RFC 5780 NAT behaviour discovery against a STUN server\n"
	"  expect A [B] [--topology T]   can a and b go direct, by which technique, or why not\n"
	"  fault KIND ROUTER             reboot a NAT, expire its mappings, cut its link\n"
	"  conform MODEL                 RFC 4787 requirements, each with its verdict and evidence\n"
	"  run                           the traversal matrix: a tool through every pair of NAT models\n"
	"\n"
	"`punchlab COMMAND --help` tells more. -v (or PUNCHLAB_VERBOSE=1) says what is being built.\n";

int cmd_is_help(const char *arg)
{
	return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

int cmd_need_root(const char *what)
{
	if (geteuid() == 0)
		return 0;
	pl_err("%s needs root (network namespaces and nftables); run it with sudo", what);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	while (argc > 1 && strcmp(argv[1], "-v") == 0) {
		pl_log_verbose(true);
		argv++;
		argc--;
	}
	if (argc < 2) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	if (cmd_is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	if (strcmp(argv[1], "topo") == 0)
		return cmd_topo(argc - 1, argv + 1);
	if (strcmp(argv[1], "nat") == 0)
		return cmd_nat(argc - 1, argv + 1);
	if (strcmp(argv[1], "nat-check") == 0)
		return cmd_nat_check(argc - 1, argv + 1);
	if (strcmp(argv[1], "stun-server") == 0)
		return cmd_stun_server(argc - 1, argv + 1);
	if (strcmp(argv[1], "stun-probe") == 0)
		return cmd_stun_probe(argc - 1, argv + 1);
	if (strcmp(argv[1], "expect") == 0)
		return cmd_expect(argc - 1, argv + 1);
	if (strcmp(argv[1], "fault") == 0)
		return cmd_fault(argc - 1, argv + 1);
	if (strcmp(argv[1], "conform") == 0)
		return cmd_conform(argc - 1, argv + 1);
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	pl_err("unknown command \"%s\"", argv[1]);
	fputs(usage, stderr);
	return EXIT_USAGE;
}
