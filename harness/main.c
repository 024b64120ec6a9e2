/* punchlab: a NAT lab on one Linux machine. */
#include "../lib/util/version.h"
#include "cmd/cmd.h"
#include "../lib/util/log.h"

#include <signal.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One table drives both dispatch and the usage text (as wg.c does), so
 * the help can never drift from the commands. */
static const struct command {
	const char *name, *args, *summary;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "topo", "up|exec|list|down|show", "build a topology with chosen NAT models, work in it, remove it", cmd_topo },
	{ "nat", "list|show", "the NAT models, and the nft ruleset each becomes", cmd_nat },
	{ "nat-check", "[MODEL...]", "measure models against their declarations", cmd_nat_check },
	{ "stun-server", "", "the lab's RFC 5389/5780 STUN server", cmd_stun_server },
	{ "stun-probe", "SERVER", "RFC 5780 NAT behaviour discovery against a STUN server", cmd_stun_probe },
	{ "expect", "A [B] [--topology T]", "can a and b go direct, by which technique, or why not", cmd_expect },
	{ "fault", "KIND TARGET", "break a running lab: NAT reboots, mappings expire, links or daemons die, hosts sleep or roam",
	  cmd_fault },
	{ "conform", "MODEL...", "NAT, port-mapping and IPv6 RFC requirements, each with its verdict and evidence",
	  cmd_conform },
	{ "run", "", "the traversal matrix: a tool through every pair of NAT models", cmd_run },
	{ "report", "RUN...", "the page of one or more runs, side by side", cmd_report },
	{ "merge", "SHARD...", "the shards of one run (run --shard I/N) joined into its files", cmd_merge },
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	fputs("usage: punchlab [-v] COMMAND [ARGS...]\n"
	      "\n"
	      "A NAT lab: network namespaces, veth links and kernel nftables NAT of every\n"
	      "RFC 4787 type, on one Linux machine.\n"
	      "\n"
	      "commands:\n",
	      out);
	for (size_t i = 0; i < N_COMMANDS; i++) {
		char head[64];
		snprintf(head, sizeof(head), "%s %s", commands[i].name, commands[i].args);
		fprintf(out, "  %-30s %s\n", head, commands[i].summary);
	}
	fputs("\n`punchlab COMMAND --help` tells more. -v (or PUNCHLAB_VERBOSE=1) says what is being built;\n"
	      "--version says which punchlab this is. PUNCHLAB_HOME: where nat-models/, topologies/ and\n"
	      "results/ are (default: beside the program, else where make install put them).\n",
	      out);
}

int cmd_is_help(const char *arg)
{
	return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

int cmd_output_option(int argc, char **argv, const char *name, const char *usage, const char **output)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":ho:", longopts, NULL)) != -1) {
		char opt[64];
		if (c == 'h') {
			fputs(usage, stdout);
			return -1;
		} else if (c == 'o') {
			*output = optarg;
			continue;
		}
		/* the option as given: -x from a cluster, or the long word */
		if (optopt)
			snprintf(opt, sizeof(opt), "-%c", optopt);
		else
			snprintf(opt, sizeof(opt), "%s", argv[optind - 1]);
		pl_err("%s: %s \"%s\"\n%s", name, c == ':' ? "a value is missing after" : "unexpected", opt, usage);
		return -2;
	}
	return optind;
}

int cmd_need_root(const char *what)
{
	if (geteuid() == 0)
		return 0;
	pl_err("%s needs root (network namespaces and nftables); run it with sudo", what);
	return EXIT_USAGE;
}

/* Flags as getopt_long takes them, for every command: "--opt=value" is
 * "--opt value" and "-j2" is "-j 2". Nothing after "--" (a command for a
 * lab host) is touched. The new argv lives as long as the process. */
/* Reachable to the end (not static: kept, not optimized away): what it
 * holds is argv. */
char **punchlab_argv;

static char **normalize_flags(int *argc, char **argv)
{
	char **out = punchlab_argv = calloc((size_t)*argc * 2 + 1, sizeof(*out));
	int n = 0;
	bool rest = false;

	if (!out)
		return argv;
	/* `topo exec [--run ID] HOST CMD...`: the command is the host's, even
	 * without "--": nothing from HOST on is touched. */
	bool exec = *argc > 2 && !strcmp(argv[1], "topo") && !strcmp(argv[2], "exec");

	for (int i = 0; i < *argc; i++) {
		char *a = argv[i], *eq;
		if (rest || i == 0) {
			out[n++] = a;
			continue;
		}
		if (exec && i > 2 && a[0] != '-' && strcmp(argv[i - 1], "--run")) {
			rest = true;   /* HOST */
			out[n++] = a;
			continue;
		}
		if (!strcmp(a, "--")) {
			rest = true;
			out[n++] = a;
		} else if (!strncmp(a, "--", 2) && (eq = strchr(a, '=')) && eq > a + 2) {
			out[n++] = strndup(a, (size_t)(eq - a));
			out[n++] = eq + 1;
		} else if (a[0] == '-' && a[1] == 'j' && a[2] >= '0' && a[2] <= '9') {
			out[n++] = "-j";
			out[n++] = a + 2;
		} else {
			out[n++] = a;
		}
	}
	out[n] = NULL;
	*argc = n;
	return out;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	argv = normalize_flags(&argc, argv);
	while (argc > 1 && strcmp(argv[1], "-v") == 0) {
		pl_log_verbose(true);
		argv++;
		argc--;
	}
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (cmd_is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("punchlab %s\n", PL_VERSION);
		return 0;
	}
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	pl_err("unknown command \"%s\"", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
