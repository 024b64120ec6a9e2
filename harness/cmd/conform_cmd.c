/* punchlab conform MODEL [--long] [--json] */
#include "cmd.h"
#include "../conform/conform.h"
#include "../natcheck/natcheck.h"
#include "../topo/run.h"
#include "../util/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
	"usage: punchlab conform MODEL [--long] [--json]\n"
	"       punchlab conform --ruleset FILE [--long] [--json]\n"
	"\n"
	"RFC 4787 requirements that can be seen from outside a NAT, each with its\n"
	"level (MUST/SHOULD/MAY), a verdict and one line of evidence, for a model\n"
	"built in the lab (MODEL: a shipped name or a .nat file). --long also\n"
	"checks the mapping lifetime (REQ-5, about two minutes). Exit status 1\n"
	"when a MUST fails. --ruleset FILE judges your own nftables ruleset instead:\n"
	"it is loaded with `nft -f` into the lab's router built bare, whose outside\n"
	"interface is \"wan\" and inside \"site\". (TCP, ICMP and carrier-NAT\n"
	"requirements are still to come.)\n";

int cmd_conform(int argc, char **argv)
{
	const char *model = NULL, *ruleset = NULL;
	bool json = false, lifetime = false;
	struct natcheck_result *res;
	struct conform_row rows[CONFORM_MAX_ROWS];
	static const unsigned at[] = { 119 };
	int n, ret;

	for (int i = 1; i < argc; i++) {
		if (cmd_is_help(argv[i])) {
			fputs(usage, stdout);
			return 0;
		} else if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--long")) {
			lifetime = true;
		} else if (!strcmp(argv[i], "--ruleset") && i + 1 < argc) {
			ruleset = argv[++i];
		} else if (!model && argv[i][0] != '-') {
			model = argv[i];
		} else {
			pl_err("conform: bad argument \"%s\"", argv[i]);
			fputs(usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (!model == !ruleset) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	if (ruleset && access(ruleset, R_OK)) {
		pl_err("conform: cannot read %s: %s", ruleset, strerror(errno));
		return EXIT_USAGE;
	}
	if (cmd_need_root("conform"))
		return EXIT_USAGE;
	run_reap_dead();
	res = calloc(1, sizeof(*res));
	if (!res)
		return EXIT_FAIL;
	if (ruleset)
		natcheck_ruleset_points(ruleset, at, lifetime ? 1 : 0, res);
	else
		natcheck_model_points(model, at, lifetime ? 1 : 0, res);
	if (res->error) {
		pl_err("conform: %s", res->detail);
		free(res);
		return EXIT_FAIL;
	}
	n = conform_judge(&res->measured, rows);
	if (json)
		conform_print_json(res->model, rows, n, stdout);
	else
		conform_print(res->model, rows, n, stdout);
	ret = conform_must_failed(rows, n) ? EXIT_MISMATCH : 0;
	free(res);
	return ret;
}
