/* punchlab expect A B [--topology T] [--tcp] [--json] */
#include "cmd.h"
#include "../expect/topology.h"
#include "../topo/topo.h"
#include "../../lib/util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: punchlab expect MODEL_A [MODEL_B] [--topology T] [--tcp] [--json]\n"
	"\n"
	"Can hosts a and b go direct, by which technique (punching, punching with\n"
	"low-TTL openers, prediction, birthday, port mapping, hairpin, same LAN,\n"
	"open), or why not: reasoned from the models' declared behaviours and the\n"
	"topology (default two-sites). The models bind the topology's parameters\n"
	"in order (or say A=MODEL). --tcp: for a tool whose traffic is TCP, which\n"
	"every model masquerades (its UDP behaviours do not apply). Where a model\n"
	"has IPv6 (ipv6 = firewall | nptv6 | nat66) the answer is given for each\n"
	"address family, and a direct path over either will do. Exit status 0\n"
	"when a direct path is possible, 1 when only a relay will do.\n";

int cmd_expect(int argc, char **argv)
{
	const char *topology = "two-sites";
	char *models[8], *assigns[8], bufs[8][300], err[512];
	struct topo t;
	struct topo_net *net;
	struct expect_result r, r4, r6;
	char why[2 * sizeof(r.why) + 16];
	bool json = false, tcp = false, dual;
	int n = 0;

	for (int i = 1; i < argc; i++) {
		if (cmd_is_help(argv[i])) {
			fputs(usage, stdout);
			return 0;
		} else if (strcmp(argv[i], "--topology") == 0 && i + 1 < argc) {
			topology = argv[++i];
		} else if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "--tcp") == 0) {
			tcp = true;
		} else if (argv[i][0] != '-' && n < 8) {
			models[n++] = argv[i];
		} else {
			pl_err("expect: bad argument \"%s\"", argv[i]);
			fputs(usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (topo_load(topology, &t, err, sizeof(err))) {
		pl_err("%s", err);
		return EXIT_USAGE;
	}
	if (n != t.n_params) {
		char takes[80];
		pl_err("expect: topology %s takes %d model%s (%s), got %d", t.name, t.n_params, t.n_params == 1 ? "" : "s",
		       topo_params_text(&t, takes, sizeof(takes)), n);
		return EXIT_USAGE;
	}
	for (int i = 0; i < n; i++) {
		if (strchr(models[i], '='))
			snprintf(bufs[i], sizeof(bufs[i]), "%s", models[i]);
		else
			snprintf(bufs[i], sizeof(bufs[i]), "%s=%s", t.params[i], models[i]);
		assigns[i] = bufs[i];
	}
	net = calloc(1, sizeof(*net));
	if (!net)
		return EXIT_FAIL;
	err[0] = '\0';
	if (topo_resolve(&t, n, assigns, net, err, sizeof(err)) || expect_topology_both(net, "a", "b", tcp, &r, &r4, &r6)) {
		pl_err("%s", err[0] ? err : r.why);
		free(net);
		return EXIT_USAGE;
	}
	/* Dual-stack (a model has IPv6): each family's reason in full. */
	dual = net->ipv6;
	free(net);
	if (dual)
		snprintf(why, sizeof(why), "IPv4: %s; IPv6: %s", r4.why, r6.why);
	else
		snprintf(why, sizeof(why), "%s", r.why);
	if (json) {
		printf("{\"topology\":\"%s\",\"direct\":%s,\"technique\":\"%s\",\"family\":\"%s\",\"why\":\"", t.name,
		       r.direct ? "true" : "false", expect_technique_name(r.technique),
		       !r.direct ? "" : dual && !r4.direct ? "ipv6" : "ipv4");
		for (const char *c = why; *c; c++)
			printf(*c == '"' || *c == '\\' ? "\\%c" : "%c", *c);
		printf("\"");
		for (int f = 0; dual && f < 2; f++) {
			const struct expect_result *x = f ? &r6 : &r4;
			printf(",\"%s\":{\"direct\":%s,\"technique\":\"%s\",\"why\":\"", f ? "ipv6" : "ipv4",
			       x->direct ? "true" : "false", expect_technique_name(x->technique));
			for (const char *c = x->why; *c; c++)
				printf(*c == '"' || *c == '\\' ? "\\%c" : "%c", *c);
			printf("\"}");
		}
		printf("}\n");
	} else {
		static const char *const how[] = {
			[EXPECT_NONE] = "", [EXPECT_SAME_LAN] = "local addresses on the LAN",
			[EXPECT_OPEN] = "reaching the open host", [EXPECT_PUNCH] = "hole punching",
			[EXPECT_PREDICTION] = "port prediction", [EXPECT_BIRTHDAY] = "birthday-paradox probing",
			[EXPECT_HAIRPIN] = "hairpinning through the shared NAT",
			[EXPECT_PUNCH_OPENERS] = "hole punching with low-TTL openers",
			[EXPECT_PORTMAP] = "a port the router mapped on request",
		};
		printf("direct: %s%s%s\nwhy:    %s\n", r.direct ? "yes, by " : "no (relay)", r.direct ? how[r.technique] : "",
		       r.direct && dual ? (r4.direct ? " over IPv4" : " over IPv6") : "", why);
		for (int f = 0; dual && f < 2; f++) {
			const struct expect_result *x = f ? &r6 : &r4;
			printf("%s:   %s%s\n", f ? "IPv6" : "IPv4", x->direct ? "yes, by " : "no (relay)", x->direct ? how[x->technique] : "");
		}
	}
	return r.direct ? 0 : EXIT_MISMATCH;
}
