/* punchlab nat list|show */
#include "cmd.h"
#include "../nl/nftportmap.h"
#include "../../lib/nat/model.h"
#include "../nat/plan.h"
#include "../../lib/util/log.h"
#include "../../lib/util/paths.h"
#include "../../lib/util/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char nat_usage[] =
	"usage: punchlab nat list [--json]\n"
	"       punchlab nat show MODEL [--public ADDR] [--subscriber ADDR...]\n"
	"\n"
	"  list  the shipped NAT models (nat-models/*.nat)\n"
	"  show  the nftables ruleset a model becomes on a router, as an nft script;\n"
	"        MODEL is a shipped name or a path to a .nat file. --public sets the\n"
	"        router's outside address (default 203.0.113.2), --subscriber the\n"
	"        inside addresses that get port blocks (default 100.64.0.2 100.64.0.3)\n";

/* No shipped models to be found: the same answer from list and show. */
static bool no_models_folder(void)
{
	char dir[400], msg[200];

	if (paths_data_dir("nat-models", dir, sizeof(dir)) == 0)
		return false;
	pl_err("%s", paths_no_data_dir("nat-models", msg, sizeof(msg)));
	return true;
}

static int nat_show(int argc, char **argv)
{
	struct nat_context ctx = { 0 };
	struct nat_model m;
	struct nat_plan *plan;
	const char *model = NULL;
	bool subs_given = false;
	char err[512];
	int ret;

	text_parse_ipv4("203.0.113.2", &ctx.public_addr);
	for (int i = 0; i < argc; i++) {
		uint32_t a;
		if (strcmp(argv[i], "--public") == 0 && i + 1 < argc) {
			if (!text_parse_ipv4(argv[++i], &ctx.public_addr)) {
				pl_err("--public \"%s\" is not an IPv4 address", argv[i]);
				return EXIT_USAGE;
			}
		} else if (strcmp(argv[i], "--subscriber") == 0 && i + 1 < argc) {
			if (!text_parse_ipv4(argv[++i], &a) || ctx.n_subscribers == NAT_MAX_SUBSCRIBERS) {
				pl_err("--subscriber \"%s\" is not an IPv4 address (or too many)", argv[i]);
				return EXIT_USAGE;
			}
			ctx.subscribers[ctx.n_subscribers++] = a;
			subs_given = true;
		} else if (!model && argv[i][0] != '-') {
			model = argv[i];
		} else {
			pl_err("nat show: unexpected \"%s\"", argv[i]);
			fputs(nat_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (!model) {
		fputs(nat_usage, stderr);
		return EXIT_USAGE;
	}
	if (!strchr(model, '/') && no_models_folder())
		return EXIT_FAIL;
	if (nat_model_load(model, &m, err, sizeof(err))) {
		pl_err("%s", err);
		return EXIT_USAGE;
	}
	if (!subs_given && m.port_block) {
		text_parse_ipv4("100.64.0.2", &ctx.subscribers[0]);
		text_parse_ipv4("100.64.0.3", &ctx.subscribers[1]);
		ctx.n_subscribers = 2;
	}
	plan = calloc(1, sizeof(*plan));
	if (!plan)
		return EXIT_FAIL;
	ret = nat_plan_compile(&m, &ctx, plan, err, sizeof(err));
	if (ret) {
		pl_err("%s", err);
		free(plan);
		return EXIT_USAGE;
	}
	if (m.no_ipv4)
		printf("# ipv4 = none: the site's hosts get no IPv4 address or route (IPv6 only)\n");
	else if (!m.translate)
		printf("# nat = none: the router only routes; its site has public addresses\n");
	nat_plan_print(plan, stdout);
	if (m.ipv6) {
		/* Its IPv6 side, on a LAN numbered as a topology's first segment. */
		static const uint8_t inside[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 1 },
				     global[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1 };
		memcpy(ctx.inside6[0], m.ipv6 == NAT_IPV6_FIREWALL ? global : inside, 16);
		memcpy(ctx.outside6[0], global, 16);
		ctx.n_prefixes6 = 1;
		nat_plan_compile6(&m, &ctx, plan, err, sizeof(err));
		putchar('\n');
		nat_plan_print(plan, stdout);
	}
	if (m.translate && m.portmap)
		nft_portmap_print(m.portmap, stdout);
	free(plan);
	return 0;
}

static int nat_list(int argc, char **argv)
{
	char names[64][NAT_MODEL_NAME_MAX];
	bool json = false;
	int n;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else {
			pl_err("nat list: unexpected \"%s\"", argv[i]);
			fputs(nat_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (no_models_folder())
		return EXIT_FAIL;
	n = nat_model_list(names, 64);
	for (int i = 0; i < n; i++)
		if (json)
			printf("%s\"%s\"", i ? "," : "[", names[i]);
		else
			printf("%s\n", names[i]);
	if (json)
		printf(n ? "]\n" : "[]\n");
	return 0;
}

int cmd_nat(int argc, char **argv)
{
	if (argc < 2 || cmd_is_help(argv[1])) {
		fputs(nat_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	for (int i = 2; i < argc; i++)
		if (cmd_is_help(argv[i])) {
			fputs(nat_usage, stdout);
			return 0;
		}
	if (strcmp(argv[1], "list") == 0)
		return nat_list(argc - 2, argv + 2);
	if (strcmp(argv[1], "show") == 0)
		return nat_show(argc - 2, argv + 2);
	pl_err("unknown nat command \"%s\"", argv[1]);
	fputs(nat_usage, stderr);
	return EXIT_USAGE;
}
