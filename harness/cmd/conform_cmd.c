/* punchlab conform MODEL | --ruleset FILE | --router-cmd CMD [--iface ...] [--long] [--json] */
#include "cmd.h"
#include "../conform/html.h"
#include "../conform/check.h"
#include "../topo/instance.h"
#include "../../lib/util/log.h"
#include "../../lib/util/text.h"

#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
	"usage: punchlab conform MODEL... [-j N] [--long] [--tcp-idle] [--json] [--html FILE] [--save-model FILE]\n"
	"       punchlab conform --ruleset FILE [--iface wan=NAME,lan=NAME] [OPTIONS]\n"
	"       punchlab conform --router-cmd 'CMD' [--iface wan=NAME,lan=NAME] [OPTIONS]\n"
	"\n"
	"Every requirement of the NAT behaviour RFCs that can be seen from outside\n"
	"a NAT (RFC 4787 UDP, RFC 5382 TCP, RFC 5508 ICMP, RFC 6888 carrier NAT),\n"
	"of port mapping (NAT-PMP RFC 6886, PCP RFC 6887, UPnP IGD: a mapping lets\n"
	"outside hosts in, its removal shuts them out) and of IPv6 where the model\n"
	"has it (RFC 6092 filtering, RFC 6296 NPTv6), each with its level\n"
	"(MUST/SHOULD/MAY), a verdict (pass, FAIL, n/a: does not apply, skipped:\n"
	"not measured) and one line of evidence, then a count.\n"
	"Exit 1: a MUST failed; 2: bad input. The lab: two hosts behind the NAT, a\n"
	"server with several addresses outside. MODEL is a shipped name or a .nat\n"
	"file; several are checked N at a time (-j, default 2) and shown side by\n"
	"side in --html.\n"
	"\n"
	"  --ruleset FILE     your own nftables ruleset, loaded with `nft -f` into\n"
	"                     the lab's router built bare (no NAT, forwarding on)\n"
	"  --router-cmd CMD   run `sh -c CMD` in that router instead: a script that\n"
	"                     sets it up and returns, or your NAT program, which is\n"
	"                     stopped when the check is over\n"
	"  MODEL with --ruleset or --router-cmd: the model first, yours on top\n"
	"  --iface wan=NAME,lan=NAME\n"
	"                     the router's outside (\"wan\") and inside (\"site\")\n"
	"                     interfaces get your ruleset's names first\n"
	"  --save-model FILE  write what was measured as a model file, for\n"
	"                     `punchlab expect FILE MODEL` (who goes direct through\n"
	"                     this NAT?) and `punchlab run --models FILE,...`\n"
	"  --long             also the timeout tests: mapping lifetime and refresh (RFC\n"
	"                     4787 REQ-5, REQ-6), ICMP query lifetime (RFC 5508 REQ-2),\n"
	"                     a carrier NAT's port hold-down (RFC 6888 REQ-8), TCP's\n"
	"                     transitory idle-timeout (RFC 5382 REQ-5); about 6 minutes\n"
	"  --tcp-idle         --long and TCP's established idle-timeout: 2 h 4 min\n"
	"  --json             one JSON object instead of the table\n"
	"  --html FILE        also the table as a web page\n"
	"  --output DIR       also write DIR/conformance.txt, .json and report.html\n"
	"\n"
	"Exit status 1 when a MUST fails, 3 when the lab could not be built.\n"
	"example: punchlab conform --ruleset /etc/nftables.conf --iface wan=eth0,lan=br-lan\n";

/* "wan=eth0,lan=br-lan" into the two names (each optional). */
static int parse_iface(char *spec, const char **wan, const char **lan)
{
	for (char *tok = strtok(spec, ","); tok; tok = strtok(NULL, ",")) {
		char *eq = strchr(tok, '=');
		const char *name = eq ? eq + 1 : "";

		if (!eq || !*name || strlen(name) >= IFNAMSIZ || strpbrk(name, "/ \t:")) {
			pl_err("conform: --iface \"%s\": expected wan=NAME or lan=NAME (NAME: up to %d characters, no '/', ':' "
			       "or blanks)",
			       tok, IFNAMSIZ - 1);
			return -EINVAL;
		}
		*eq = '\0';
		if (!strcmp(tok, "wan"))
			*wan = name;
		else if (!strcmp(tok, "lan"))
			*lan = name;
		else {
			pl_err("conform: --iface: unknown side \"%s\"; expected wan or lan", tok);
			return -EINVAL;
		}
	}
	if (*wan && *lan && !strcmp(*wan, *lan)) {
		pl_err("conform: --iface: wan and lan cannot both be %s", *wan);
		return -EINVAL;
	}
	return 0;
}

/* The measured behaviour as a model file named after FILE. */
static int save_model(const char *path, const struct conform_report *rep)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	char name[NAT_MODEL_NAME_MAX], comment[NAT_MODEL_NAME_MAX + 200];
	struct nat_model m;
	FILE *f;

	snprintf(name, sizeof(name), "%.*s", (int)strcspn(base, "."), base);
	conform_measured_model(&rep->check.measured, name[0] ? name : "measured", &m);
	conform_measured_more(&rep->obs, &m);
	snprintf(comment, sizeof(comment),
		 "Measured by punchlab conform on %s\n(mapping, filtering, ports, hairpin, unsolicited, portmap, ipv6;"
		 " udp-timeout only with --long)",
		 rep->check.model);
	f = fopen(path, "w");
	if (!f) {
		pl_err("conform: cannot write %s: %s", path, strerror(errno));
		return -errno;
	}
	nat_model_write(&m, comment, f);
	if (fclose(f)) {
		pl_err("conform: cannot write %s: %s", path, strerror(errno));
		return -EIO;
	}
	fprintf(stderr, "punchlab: conform: the measured behaviour is in %s; try `punchlab expect %s MODEL`\n", path, path);
	return 0;
}

/* DIR/conformance.txt (the tables), .json (as --json prints it) and
 * report.html. */
static int write_output(const char *dir, const struct conform_report *const reps[], int n)
{
	char path[PATH_MAX];
	FILE *txt, *json;
	int ret = 0, err;

	if (mkdir(dir, 0755) && errno != EEXIST) {
		pl_err("conform: cannot make %s: %s", dir, strerror(errno));
		return -errno;
	}
	snprintf(path, sizeof(path), "%s/conformance.txt", dir);
	txt = fopen(path, "w");
	snprintf(path, sizeof(path), "%s/conformance.json", dir);
	json = fopen(path, "w");
	if (!txt || !json) {
		pl_err("conform: cannot write in %s: %s", dir, strerror(errno));
		ret = -EIO;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		if (reps[i]->check.error)
			continue;
		conform_print(reps[i]->check.model, reps[i]->rows, reps[i]->n_rows, txt);
		fputs(i + 1 < n ? "\n" : "", txt);
	}
	/* As --json prints it: an object for one subject, else an array. */
	if (n == 1 && !reps[0]->check.error)
		conform_print_json(reps[0]->check.model, reps[0]->rows, reps[0]->n_rows, json);
	else
		conform_print_json_all(reps, n, json);
	snprintf(path, sizeof(path), "%s/report.html", dir);
	if ((err = conform_write_html(path, reps, n))) {
		pl_err("conform: cannot write %s: %s", path, strerror(-err));
		ret = err;
	}
out:
	if (txt && fclose(txt))
		ret = -EIO;
	if (json && fclose(json))
		ret = -EIO;
	return ret;
}

int cmd_conform(int argc, char **argv)
{
	const char *save = NULL, *html = NULL, *outdir = NULL;
	char *models[16];
	bool json = false, lifetime = false;
	struct natcheck_opts o = { 0 };
	struct conform_report *reps;
	const struct conform_report *shown[16];
	/* --long: a mapping alive at 119 s (REQ-5), refreshed at 75 s and
	 * checked at 150 s (REQ-6), an echo's mapping at 61 s (RFC 5508 REQ-2),
	 * a carrier's ports taken before, tried again at 135 s (RFC 6888 REQ-8),
	 * a half-closed TCP connection written to at 240 s (RFC 5382 REQ-5);
	 * --tcp-idle: an idle one at 2 h 4 min (the limits themselves: idle a
	 * little less, as set-up comes just after the timeline starts) */
	static const unsigned at[] = { 119 };
	struct conform_timing timing = { 150, 61, 135, 0, 240 };
	unsigned long jobs = 2;
	int n = 0, ret = 0;

	for (int i = 1; i < argc; i++) {
		if (cmd_is_help(argv[i])) {
			fputs(usage, stdout);
			return 0;
		} else if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--long")) {
			lifetime = true;
		} else if (!strcmp(argv[i], "--tcp-idle")) {
			lifetime = true;
			timing.tcp_est_s = 124 * 60;
		} else if (!strcmp(argv[i], "--ruleset") && i + 1 < argc) {
			o.ruleset = argv[++i];
		} else if (!strcmp(argv[i], "--output") && i + 1 < argc) {
			outdir = argv[++i];
		} else if (!strcmp(argv[i], "--html") && i + 1 < argc) {
			html = argv[++i];
		} else if (!strcmp(argv[i], "--save-model") && i + 1 < argc) {
			save = argv[++i];
		} else if (!strcmp(argv[i], "--router-cmd") && i + 1 < argc) {
			o.router_cmd = argv[++i];
		} else if (!strcmp(argv[i], "-j") && i + 1 < argc) {
			if (!text_parse_uint(argv[++i], 1, 16, &jobs)) {
				pl_err("conform: -j \"%s\": expected 1 to 16", argv[i]);
				return EXIT_USAGE;
			}
		} else if (!strcmp(argv[i], "--iface") && i + 1 < argc) {
			if (parse_iface(argv[++i], &o.iface_wan, &o.iface_lan))
				return EXIT_USAGE;
		} else if (argv[i][0] != '-' && n < 16) {
			models[n++] = argv[i];
		} else {
			pl_err("conform: bad argument \"%s\"", argv[i]);
			fputs(usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (!n && !o.ruleset && !o.router_cmd) {
		pl_err("conform: give a MODEL, --ruleset FILE or --router-cmd CMD");
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	if (n > 1 && (o.ruleset || o.router_cmd || save)) {
		pl_err("conform: --ruleset, --router-cmd and --save-model take one subject, not %d models", n);
		return EXIT_USAGE;
	}
	if (n && (o.iface_wan || o.iface_lan)) {
		pl_err("conform: --iface renames the bare router's interfaces; a model's rules use the lab's own names");
		return EXIT_USAGE;
	}
	if (o.ruleset && access(o.ruleset, R_OK)) {
		pl_err("conform: cannot read %s: %s", o.ruleset, strerror(errno));
		return EXIT_USAGE;
	}
	if (cmd_need_root("conform"))
		return EXIT_USAGE;
	instance_reap_dead();
	reps = calloc(n ? (size_t)n : 1, sizeof(*reps));
	if (!reps)
		return EXIT_FAIL;
	o.points = at;
	o.n_points = lifetime ? 1 : 0;
	if (n > 1)
		conform_check_many(models, n, (int)jobs, &o, lifetime ? &timing : NULL, reps);
	else
		conform_check(n ? models[0] : NULL, &o, lifetime ? &timing : NULL, reps);
	for (int i = 0; i < (n ? n : 1); i++) {
		struct conform_report *rep = &reps[i];

		shown[i] = rep;
		if (rep->check.error) {
			pl_err("conform: %s", rep->check.detail);
			/* A ruleset nft refuses, a command that fails: bad input. */
			if (!ret || ret == EXIT_MISMATCH)
				ret = rep->check.error == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
			continue;
		}
		if (json && n <= 1)
			conform_print_json(rep->check.model, rep->rows, rep->n_rows, stdout);
		else if (!json)
			conform_print(rep->check.model, rep->rows, rep->n_rows, stdout);
		if (!json && i + 1 < n)
			fputs("\n", stdout);
		if (rep->obs.note[0])
			pl_err("conform: %s", rep->obs.note);
		if ((o.ruleset || o.router_cmd) && (!rep->check.measured.udp || !rep->check.measured.translated)) {
			/* Nothing to judge: every verdict would be n/a. */
			pl_err("conform: nothing got through translated, so there is nothing to judge: %s",
			       o.iface_wan ? "does your set-up translate UDP from the inside interface to the outside one?"
					   : "does your set-up name other interfaces than the lab's (\"wan\" outside, "
					     "\"site\" inside)? Then add --iface wan=NAME,lan=NAME");
			ret = EXIT_USAGE;
		}
		if ((!ret || ret == EXIT_MISMATCH) && conform_must_failed(rep->rows, rep->n_rows))
			ret = EXIT_MISMATCH;
		if (save && save_model(save, rep))
			ret = EXIT_FAIL;
	}
	if (json && n > 1)
		conform_print_json_all(shown, n, stdout);
	if (outdir && write_output(outdir, shown, n ? n : 1))
		ret = EXIT_FAIL;
	if (html) {
		int err = conform_write_html(html, shown, n ? n : 1);

		if (err) {
			pl_err("conform: cannot write %s: %s", html, strerror(-err));
			ret = EXIT_FAIL;
		}
	}
	free(reps);
	return ret;
}
