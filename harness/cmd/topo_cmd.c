/* punchlab topo up|exec|list|down|show */
#include "cmd.h"
#include "../topo/build.h"
#include "../topo/instance.h"
#include "../topo/topo.h"
#include "../topo/cleanup.h"
#include "../../lib/util/log.h"
#include "../../lib/util/proc.h"
#include "../../lib/util/text.h"
#include "../../lib/util/timeutil.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char topo_usage[] =
	"usage: punchlab topo up TOPOLOGY [PARAM=MODEL...] [--link NODE:SPEC...] [--foreground]\n"
	"       punchlab topo exec [--run ID] HOST [-- CMD [ARG...]]\n"
	"       punchlab topo list [--available] [--json]\n"
	"       punchlab topo down [--run ID | --all]\n"
	"       punchlab topo show TOPOLOGY [PARAM=MODEL...]\n"
	"\n"
	"Build a topology of network namespaces with real kernel NAT, work inside it,\n"
	"and remove it. Every `up` is a run with an id; its state lives under\n"
	"/run/punchlab/ID/ and its namespaces are named pl-ID-HOST.\n"
	"\n"
	"  up      build it and leave it running (a small keeper process owns it);\n"
	"          --foreground stays attached and removes it on Ctrl-C; --link impairs\n"
	"          NODE's link to its segment (a-wan: the uplink of a's NAT), SPEC as\n"
	"          delay=40ms,jitter=5ms,loss=2%,reorder=1%,duplicate=1%,rate=10mbit,mtu=1400\n"
	"  exec    run CMD (default: $SHELL) inside HOST's namespace\n"
	"  list    the runs that are up; --available: the shipped topologies\n"
	"  down    remove a run (or --all of punchlab's runs); nothing else is touched\n"
	"  show    print addresses and routes a topology would get, without building\n"
	"\n"
	"example: punchlab topo up two-sites A=symmetric B=full-cone\n";

static int resolve_args(int argc, char **argv, struct topo_net *net)
{
	struct topo t;
	char err[512];

	if (argc < 1) {
		fputs(topo_usage, stderr);
		return EXIT_USAGE;
	}
	if (topo_load(argv[0], &t, err, sizeof(err)) || topo_resolve(&t, argc - 1, argv + 1, net, err, sizeof(err))) {
		pl_err("%s", err);
		return EXIT_USAGE;
	}
	return 0;
}

static void print_run(const struct instance *r, const struct topo_net *net, FILE *out)
{
	char a[46];

	fprintf(out, "run %s: topology %s%s%s\n", r->id, r->topology, r->params[0] ? " " : "", r->params);
	for (int i = 0; i < net->topo.n_nodes; i++) {
		const struct topo_net_node *n = &net->nodes[i];
		fprintf(out, "  %-12s %-6s", n->name, n->router ? "router" : "host");
		for (int f = 0; f < n->n_ifaces; f++)
			for (int k = 0; k < n->ifaces[f].n_addrs; k++)
				fprintf(out, " %s", text_ipv4(n->ifaces[f].addrs[k], a));
		for (int f = 0; f < n->n_ifaces; f++)
			for (int k = 0; k < n->ifaces[f].n_addrs6; k++)
				fprintf(out, " %s", text_ipv6(n->ifaces[f].addrs6[k], a));
		if (n->has_model)
			fprintf(out, "  (nat %s)", n->model.name);
		fputc('\n', out);
	}
	fprintf(out, "enter a host:  punchlab topo exec --run %s HOST -- CMD   (or: ip netns exec pl-%s-HOST CMD)\n",
		r->id, r->id);
	fprintf(out, "remove it:     punchlab topo down --run %s\n", r->id);
}

static int topo_up(int argc, char **argv)
{
	struct topo_net *net = calloc(1, sizeof(*net));
	char params[160] = "", err[512];
	bool foreground = false;
	int n = 0, ret;
	char *args[16];
	struct instance r;

	const char *links[8];
	int n_links = 0;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--foreground") == 0)
			foreground = true;
		else if (strcmp(argv[i], "--link") == 0 && i + 1 < argc && n_links < 8)
			links[n_links++] = argv[++i];
		else if (n < 16)
			args[n++] = argv[i];
	}
	if (!net)
		return EXIT_FAIL;
	if ((ret = resolve_args(n, args, net)))
		goto out;
	/* --link NODE:delay=40ms,loss=2%: impair the link of NODE to its segment
	 * (a-wan: the uplink of a's NAT). */
	for (int i = 0; i < n_links; i++) {
		const char *colon = strchr(links[i], ':');
		char node[TOPO_NAME_MAX];
		int k;

		if (!colon || (size_t)(colon - links[i]) >= sizeof(node)) {
			pl_err("--link \"%s\": expected NODE:delay=40ms,loss=2%%,...", links[i]);
			ret = EXIT_USAGE;
			goto out;
		}
		snprintf(node, sizeof(node), "%.*s", (int)(colon - links[i]), links[i]);
		k = topo_find_link(&net->topo, node);
		if (k < 0 || net->topo.nodes[k].segment < 0) {
			pl_err("--link: topology %s has no node \"%s\" with a link", net->topo.name, node);
			ret = EXIT_USAGE;
			goto out;
		}
		if (impair_parse(colon + 1, &net->topo.nodes[k].impair, err, sizeof(err))) {
			pl_err("--link %s: %s", node, err);
			ret = EXIT_USAGE;
			goto out;
		}
	}
	if ((ret = cmd_need_root("topo up")))
		goto out;
	for (int i = 1; i < n; i++) {
		size_t l = strlen(params);
		snprintf(params + l, sizeof(params) - l, "%s%s", l ? " " : "", args[i]);
	}
	/* The run remembers the topology as given (a path made absolute), so
	 * later commands (fault) can rebuild its plan. */
	char topo_ref[PATH_MAX];
	if (!strchr(args[0], '/') || !realpath(args[0], topo_ref))
		snprintf(topo_ref, sizeof(topo_ref), "%s", args[0]);
	if ((ret = instance_create(&r, topo_ref, params))) {
		pl_err("cannot create run state under /run/punchlab: %s", strerror(-ret));
		ret = EXIT_FAIL;
		goto out;
	}
	cleanup_watch_instance(r.id);
	if ((ret = topo_build(net, &r, err, sizeof(err)))) {
		pl_err("run %s: %s; removing what was built", r.id, err);
		instance_destroy(r.id);
		cleanup_forget_instance(r.id);
		ret = EXIT_FAIL;
		goto out;
	}
	if (foreground) {
		print_run(&r, net, stdout);
		printf("running in the foreground; Ctrl-C removes it\n");
		fflush(stdout);
		for (;;)
			pause(); /* the cleanup handler removes the run and exits */
	}
	if (instance_detach(&r)) {
		pl_err("cannot start the keeper process: %s", strerror(errno));
		instance_destroy(r.id);
		ret = EXIT_FAIL;
		goto out;
	}
	cleanup_forget_instance(r.id);
	print_run(&r, net, stdout);
	ret = 0;
out:
	free(net);
	return ret;
}

static int topo_down(int argc, char **argv)
{
	const char *id = NULL;
	bool all = false;
	char ids[64][INSTANCE_ID_LEN + 1], err[512];
	int n;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--run") == 0 && i + 1 < argc)
			id = argv[++i];
		else if (strcmp(argv[i], "--all") == 0)
			all = true;
		else {
			pl_err("topo down: unexpected \"%s\"", argv[i]);
			fputs(topo_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (all && id) {
		pl_err("topo down: --run %s or --all, not both (--all removes every run)", id);
		return EXIT_USAGE;
	}
	if (cmd_need_root("topo down"))
		return EXIT_USAGE;
	if (all) {
		n = instance_list(ids, 64);
	} else {
		struct instance r;
		if (instance_pick(id, &r, err, sizeof(err))) {
			pl_err("%s", err);
			return EXIT_USAGE;
		}
		snprintf(ids[0], sizeof(ids[0]), "%s", r.id);
		n = 1;
	}
	for (int i = 0; i < n; i++) {
		struct instance r;
		char dir[96];
		struct stat st;

		if (instance_load(ids[i], &r))
			continue;
		snprintf(dir, sizeof(dir), "%s", r.dir);
		/* Ask a keeper to finish its own run; its parent asking means the
		 * owner itself is on its way out. */
		if (instance_owner_alive(&r) && r.owner != getpid() && r.owner != getppid()) {
			kill(r.owner, SIGTERM);
			for (int w = 0; w < 300 && stat(dir, &st) == 0; w++)
				time_sleep_ms(10);
		}
		instance_destroy(ids[i]);
		printf("run %s removed\n", ids[i]);
	}
	return 0;
}

static int cmd_topo_list(int argc, char **argv)
{
	bool json = false, available = false;
	char ids[64][INSTANCE_ID_LEN + 1];
	int n;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "--available") == 0)
			available = true;
		else {
			pl_err("topo list: unexpected \"%s\"", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (available) {
		char names[64][32];
		n = topo_list(names, 64);
		for (int i = 0; i < n; i++)
			printf(json ? "%s\"%s\"" : "%s%s\n", json ? (i ? "," : "[") : "", names[i]);
		if (json)
			printf(n ? "]\n" : "[]\n");
		return 0;
	}
	n = instance_list(ids, 64);
	if (json)
		printf("[");
	else if (n == 0)
		printf("no runs are up\n");
	else
		printf("%-7s %-16s %-8s %-6s %s\n", "RUN", "TOPOLOGY", "OWNER", "AGE", "PARAMS");
	for (int i = 0; i < n; i++) {
		struct instance r;
		char links[300];
		long age;
		int dead;

		if (instance_load(ids[i], &r))
			continue;
		age = (long)time(NULL) - r.created;
		dead = instance_dead_links(&r, links, sizeof(links));
		if (json) {
			printf("%s{\"run\":\"%s\",\"topology\":\"%s\",\"params\":\"%s\",\"owner\":%d,\"owner_alive\":%s,"
			       "\"age_s\":%ld,\"dead_links\":\"%s\",\"namespaces\":[",
			       i ? "," : "", r.id, r.topology, r.params, (int)r.owner,
			       instance_owner_alive(&r) ? "true" : "false", age, links);
			for (int k = 0; k < r.n_netns; k++)
				printf("%s\"%s\"", k ? "," : "", r.netns[k]);
			printf("]}");
		} else {
			printf("%-7s %-16s %-8d %-6ld %s\n", r.id, r.topology, (int)r.owner, age, r.params);
			if (dead)
				printf("        BROKEN: the impairment forwarder of %s's link died: that link carries nothing "
				       "(topo down --run %s, then up again)\n",
				       links, r.id);
		}
	}
	if (json)
		printf("]\n");
	return 0;
}

static int topo_exec(int argc, char **argv)
{
	const char *id = NULL, *host = NULL;
	char err[512], ns[64];
	char *shell[] = { getenv("SHELL") ? getenv("SHELL") : "/bin/sh", NULL };
	char **cmd = shell;
	struct instance r;
	int i, ret, code = 0;
	pid_t pid;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--run") == 0 && i + 1 < argc) {
			id = argv[++i];
		} else if (strcmp(argv[i], "--") == 0) {
			if (i + 1 < argc)
				cmd = argv + i + 1;
			break;
		} else if (!host) {
			host = argv[i];
		} else {
			cmd = argv + i;
			break;
		}
	}
	if (!host) {
		fputs(topo_usage, stderr);
		return EXIT_USAGE;
	}
	if (cmd_need_root("topo exec"))
		return EXIT_USAGE;
	if (instance_pick(id, &r, err, sizeof(err))) {
		pl_err("%s", err);
		return EXIT_USAGE;
	}
	if (topo_node_netns(&r, host, ns, sizeof(ns))) {
		size_t off = (size_t)snprintf(err, sizeof(err), "run %s has no host \"%s\"; its hosts:", r.id, host);
		for (int k = 0; k < r.n_netns && off < sizeof(err); k++)
			off += (size_t)snprintf(err + off, sizeof(err) - off, " %s", r.netns[k] + 4 + INSTANCE_ID_LEN);
		pl_err("%s", err);
		return EXIT_USAGE;
	}
	/* Recorded, so that `fault restart` can start it again as it was. */
	if ((ret = proc_spawn(ns, cmd, -1, -1, &pid))) {
		pl_err("topo exec: cannot start %s: %s", cmd[0], strerror(-ret));
		return EXIT_FAIL;
	}
	instance_note_command(&r, pid, cmd);
	ret = proc_wait(pid, &code);
	return ret < 0 ? EXIT_FAIL : code;
}

static int topo_show(int argc, char **argv)
{
	struct topo_net *net = calloc(1, sizeof(*net));
	int ret;

	if (!net)
		return EXIT_FAIL;
	ret = resolve_args(argc, argv, net);
	if (ret == 0)
		topo_net_print(net, stdout);
	free(net);
	return ret;
}

int cmd_topo(int argc, char **argv)
{
	if (argc < 2 || cmd_is_help(argv[1])) {
		fputs(topo_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	for (int i = 2; i < argc && strcmp(argv[i], "--"); i++)
		if (cmd_is_help(argv[i])) {
			fputs(topo_usage, stdout);
			return 0;
		}
	if (geteuid() == 0)
		instance_reap_dead();
	if (strcmp(argv[1], "up") == 0)
		return topo_up(argc - 2, argv + 2);
	if (strcmp(argv[1], "down") == 0)
		return topo_down(argc - 2, argv + 2);
	if (strcmp(argv[1], "list") == 0)
		return cmd_topo_list(argc - 2, argv + 2);
	if (strcmp(argv[1], "exec") == 0)
		return topo_exec(argc - 2, argv + 2);
	if (strcmp(argv[1], "show") == 0)
		return topo_show(argc - 2, argv + 2);
	pl_err("unknown topo command \"%s\"", argv[1]);
	fputs(topo_usage, stderr);
	return EXIT_USAGE;
}
