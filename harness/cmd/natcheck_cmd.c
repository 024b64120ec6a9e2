/* punchlab nat-check [MODEL...] */
#include "cmd.h"
#include "../natcheck/natcheck.h"
#include "../topo/instance.h"
#include "../../lib/util/log.h"
#include "../../lib/util/text.h"

#include "../../lib/util/paths.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
	"usage: punchlab nat-check [MODEL...] [--json] [--timeouts] [-j N]\n"
	"\n"
	"Measure NAT models against their declarations: each model is built as a\n"
	"router in the nat-probe topology, and a client behind it runs RFC 5780\n"
	"behaviour discovery against the lab's STUN server (two addresses, two\n"
	"ports): mapping, filtering, port allocation (and the step of a sequential\n"
	"allocator), hairpinning, and whether an unsolicited inbound packet changes\n"
	"the next mapping; and it asks the router for a port mapping by UPnP IGD,\n"
	"NAT-PMP and PCP (a model's portmap key), removing each one granted.\n"
	"With no MODEL, every shipped model.\n"
	"\n"
	"  --json      a list of {model, declared, measured, portmap, match, detail}\n"
	"  --timeouts  also measure the mapping lifetime (takes the longest timeout + 10 s)\n"
	"  -j N        models checked at once (default 4), each in its own run\n"
	"\n"
	"Exit status: 0 every model matches, 1 some mismatch, 2 usage, 3 the lab failed.\n";

int cmd_nat_check(int argc, char **argv)
{
	char names[64][NAT_MODEL_NAME_MAX], *models[64];
	struct natcheck_result *res;
	bool json = false, timeouts = false;
	int n = 0, jobs = 4, bad = 0, failed = 0;

	for (int i = 1; i < argc; i++) {
		unsigned long v;
		if (cmd_is_help(argv[i])) {
			fputs(usage, stdout);
			return 0;
		} else if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "--timeouts") == 0) {
			timeouts = true;
		} else if (strcmp(argv[i], "-j") == 0 && i + 1 < argc && text_parse_uint(argv[i + 1], 1, 32, &v)) {
			jobs = (int)v;
			i++;
		} else if (argv[i][0] != '-' && n < 64) {
			models[n++] = argv[i];
		} else {
			pl_err("nat-check: bad argument \"%s\"", argv[i]);
			fputs(usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (cmd_need_root("nat-check"))
		return EXIT_USAGE;
	instance_reap_dead();
	if (n == 0) {
		n = nat_model_list(names, 64);
		if (n == 0) {
			char msg[200];
			pl_err("nat-check: %s", paths_no_data_dir("nat-models", msg, sizeof(msg)));
			return EXIT_FAIL;
		}
		for (int i = 0; i < n; i++)
			models[i] = names[i];
	}
	for (int i = 0; i < n; i++) {
		struct nat_model m;
		char err[512];
		if (nat_model_load(models[i], &m, err, sizeof(err))) {
			pl_err("%s", err);
			return EXIT_USAGE;
		}
	}
	if (!json)
		fprintf(stderr, "checking %d model%s, %d at a time%s...\n", n, n == 1 ? "" : "s", jobs,
			timeouts ? " (with mapping lifetimes: minutes)" : "");
	res = calloc((size_t)n, sizeof(*res));
	if (!res)
		return EXIT_FAIL;
	natcheck_all(models, n, jobs, timeouts, res);
	if (json)
		natcheck_print_json(res, n, stdout);
	else
		natcheck_print(res, n, timeouts, stdout);
	for (int i = 0; i < n; i++) {
		failed += res[i].error != 0;
		bad += !res[i].error && !res[i].match;
	}
	free(res);
	return failed ? EXIT_FAIL : bad ? EXIT_MISMATCH : 0;
}
