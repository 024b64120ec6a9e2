/* `punchlab run` (a matrix run): drive a NAT-traversal tool through pairs of NAT models,
 * each pair a scenario in a topology of its own, and decide from the
 * packets (router counters, the harness's own prober through the tunnel)
 * whether the peers connected, directly or through a relay, and how fast. */
#ifndef PL_RUNNER_H
#define PL_RUNNER_H

#include "../../lib/expect/expect.h"
#include "../../lib/nat/model.h"
#include "../topo/instance.h"
#include "../topo/topo.h"
#include "verdict.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#define RUNNER_MAX_SCENARIOS 512
#define RUNNER_NAME 32
#define RUNNER_MAX_MODELS 64

enum lifecycle_kind { LC_NONE, LC_FAULT, LC_IDLE, LC_KILL_RELAY, LC_SLEEP };
/* What --duration sets: nothing, the watch after the event, the silence. */
enum lifecycle_duration { LC_DUR_NONE, LC_DUR_WATCH, LC_DUR_SILENCE };

/* A lifecycle scenario: once the pair has settled (or at once, if
 * early), an event; then the tunnel is watched for after_s seconds. */
struct lifecycle {
	const char *name, *what;
	const char *topology, *a, *b, *c;      /* "@x.nat": tests/data/x.nat; c: a third site, if any */
	const char *link_node, *link_spec;     /* an impaired link ("" none) */
	enum lifecycle_kind kind;
	const char *fault_kind, *fault_target, *fault_arg;
	bool early;                            /* before any direct path */
	int quiet_s;                           /* LC_IDLE: silence this long; LC_SLEEP: a's sleep */
	int after_s;
	enum lifecycle_duration duration;      /* what --duration S sets instead */
	int probe_ip_bytes;                    /* after the event, probes of this size with "don't fragment" (0: as before) */
};

const struct lifecycle *runner_lifecycle_find(const char *name);
/* Every lifecycle scenario; returns the count. */
int runner_lifecycles(const struct lifecycle **out, int max);

struct scenario {
	char tool[RUNNER_NAME];
	char topology[RUNNER_NAME];
	char a[RUNNER_NAME * 4], b[RUNNER_NAME * 4], c[RUNNER_NAME * 4]; /* models ("" where the topology has no such parameter) */
	int repeat;
	char lifecycle[RUNNER_NAME];          /* "" for a plain pair */
};

#define LC_MAX_CHANGES 16

/* How a pair came through a lifecycle event (times from the event). */
struct lifecycle_result {
	bool happened;
	double event_at_s;
	double quiet_s, watch_s;               /* the silence after it, then how long it was watched */
	int sent_after, lost_after;            /* probes sent after the event, and never answered */
	double first_reply_s;                  /* first answer to a probe sent after it */
	double relay_s;                        /* first relayed window after it (-1: none) */
	double direct_s;                       /* direct again (0: never left; -1: not again) */
	enum path path_after;
	int pairs, pairs_connected;            /* with a third peer: every pair probed at the end */
	int handshakes;                        /* after it: WireGuard handshakes completed (responses seen) */
	int path_changes;                      /* after it: windows whose path differs from the last one's */
	int n_changes;                         /* the first LC_MAX_CHANGES of them, with their times */
	struct lc_change {
		double at_s;                   /* from the event's end (the end of the silence) */
		enum path path;                /* the path from then on */
	} changes[LC_MAX_CHANGES];
};

struct scenario_result {
	struct scenario sc;
	bool ran;                  /* false: could not be set up (error says why) */
	bool connected;
	enum path path;            /* direct, relay, none (the routers' counters say) */
	bool expected_direct;
	char expected_technique[16];
	char expected_reason[400];
	double time_to_first_reply_s, time_to_direct_s;   /* -1: never */
	double rtt_p50, rtt_p90, rtt_p99;                   /* ms; -1: no reply */
	int probes_sent, probes_answered;
	uint64_t direct_bytes, relay_bytes;                 /* tunnel bytes the routers counted */
	enum path tool_said_path;  /* what the tool reported (PATH_UNKNOWN if it says nothing) */
	char tool_version[48];
	double wall_s;
	char error[300];
	char kept_run[INSTANCE_ID_LEN + 1];  /* --keep-failed: the run left up */
	struct lifecycle_result lc;
};

/* A tool under test: a C table entry (runner/tool_*.c). The harness builds
 * the network; the tool brings up its parts on the hosts and says which
 * addresses inside the tunnel reach each peer. */
struct tool_ctx {
	const struct instance *inst;
	const struct topo_net *net;
	char dir[200];             /* the scenario's files (keys, configs, logs) */
	uint32_t addr_a, addr_b;   /* a's and b's addresses inside the tunnel (network order) */
	uint32_t addr_c;           /* c's, when the topology has a third peer and the tool runs one (else 0) */
	void *priv;
};

struct runner_tool {
	const char *name;
	const char *what;
	/* Is the tool installed? If not, why (a clear line; never a silent pass). */
	bool (*available)(char *why, size_t len);
	void (*version)(char *buf, size_t len);
	/* Start it in the lab (introducer on "introducer", peers on a and b);
	 * set addr_a/addr_b once both peers know each other. */
	int (*start)(struct tool_ctx *t, int timeout_ms, char *err, size_t errlen);
	/* What a says its path to b is, and whether it has stopped trying
	 * for better; NULL when the tool cannot say. */
	int (*said_path)(struct tool_ctx *t, enum path *path, bool *settled);
	void (*stop)(struct tool_ctx *t);
	/* The relay's process on the introducer host (its name, for `fault
	 * kill`); NULL when the tool has none. */
	const char *relay_program;
};

/* For adapters (tool_util.c): a program beside punchlab (NULL if absent);
 * a file with this text (mode 0600); a WireGuard key pair, the private key
 * written to path as `wg genkey` does; a program started on NODE with its
 * output in t->dir/LOG, noted in the run. */
const char *tool_sibling(const char *name, char *buf, size_t len);
int tool_write_file(const char *path, const char *text);
int tool_keypair(const char *path, char pub[45]);
int tool_spawn(struct tool_ctx *t, const char *node, char *const argv[], const char *log, pid_t *pid);
/* Is PROG on the PATH? tool_install: if not, install Debian's PACKAGE
 * (as root) or say why. */
bool tool_have(const char *prog);
bool tool_install(const char *prog, const char *package, char *why, size_t len);
/* The first line a program prints, stdout and stderr (fallback when it
 * fails or prints nothing). No shell. */
void tool_first_line(char *const argv[], const char *fallback, char *buf, size_t len);
/* Stop the tool's processes and free t->priv. */
void tool_stop_all(struct tool_ctx *t, pid_t *pids, int n);

/* The tools (tools.c): one by name (NULL: none), and every one,
 * NULL-terminated. */
const struct runner_tool *runner_tool_find(const char *name);
extern const struct runner_tool *const runner_tools[];

struct runner_opts {
	const char *tool;
	int jobs;
	int timeout_s;
	int duration_s;          /* --duration: a long lifecycle scenario's length (0: its own) */
	bool keep_failed;
	bool progress;
	const char *outdir;
};

/* The plan (plan.c): what to run. */
struct plan {
	const char *tool;
	const char *models;      /* "A,B,...": their pairs (NULL: every shipped model) */
	const char *topology;    /* the pairs' topology (NULL: two-sites, or the default matrix without models) */
	const char *lifecycle;   /* a lifecycle scenario's name, or "all" (NULL: none) */
	bool ordered;            /* A,B and B,A both */
	int repeat;
};
/* The scenarios a plan names, into sc (at most RUNNER_MAX_SCENARIOS), and
 * the models it uses into names (*k of them). Returns how many, or -1 with
 * err saying what is wrong (a model that does not load, no model at all,
 * no such topology or lifecycle scenario). */
int runner_plan(const struct plan *p, struct scenario *sc, char names[][NAT_MODEL_NAME_MAX], int *k, char *err,
		size_t errlen);

/* Results (result.c): where a scenario's files go, OUTDIR/scenarios/NAME. */
void runner_scenario_dir(const struct runner_opts *o, const struct scenario *sc, char *buf, size_t len);
/* Connected, direct where `punchlab expect` says it can be, and (with a
 * third peer) every pair answering. */
bool runner_as_expected(const struct scenario_result *r);
/* The tool said one path, the routers' counters show another. */
bool runner_disagrees(const struct scenario_result *r);

/* One scenario, in its steps (scenario.c): set up, start the tool, watch,
 * sum up, tear down; fills res. */
void runner_scenario(const struct scenario *sc, const struct runner_opts *o, const char *scenario_dir,
		     struct scenario_result *res);
/* The job pool (pool.c): them all, `jobs` at a time, each in a process of
 * its own; prints a progress line when o->progress. */
void runner_all(const struct scenario *sc, int n, const struct runner_opts *o, struct scenario_result *res);

/* Output (output.c). */
/* The run's folder: outdir as given, or results/<date-time> when empty
 * (written back), with scenarios/ in it. */
int runner_make_outdir(char *outdir, size_t len, time_t started, char *err, size_t errlen);
struct conform_report;
/* Each model's conformance, up to jobs at a time: conformance.json in
 * outdir and a line each on stdout; the reports (freed by the caller) in
 * *out and pointers to them in conf. */
int runner_conform(char names[][NAT_MODEL_NAME_MAX], int k, int jobs, const char *outdir, struct conform_report **out,
		   const struct conform_report *conf[]);
/* What a run says of itself (results.json's header): the tool, where and
 * when it ran, the command, and how it compared with a baseline. */
struct run_info {
	char tool[RUNNER_NAME], tool_version[48], commit[64], kernel[96], host[96], date[32];
	char command[1024];
	char baseline[512];      /* "" when none was given */
	int worse;               /* cells worse than the baseline (-1: none given) */
	double wall_s;
	char source[600];        /* the file it was read from ("" for the run itself) */
};
/* One run's results: its header and its scenarios. */
struct run_set {
	struct run_info info;
	struct scenario_result *res;
	int n;
};
/* The header of a run that just ended: commit, kernel, host, date (UTC),
 * and the command line (argv from the subcommand's name on) as a person
 * would type it again. */
void runner_info_now(struct run_info *info, const char *tool, const char *tool_version, double wall_s, int argc,
		     char **argv);

/* The run's results.json, junit.xml and report.html in o->outdir; the
 * files of each scenario that went as expected removed. 0, or -errno with
 * err. */
int runner_write_results(const struct runner_opts *o, const struct run_set *set, const struct conform_report *const conf[],
			 int n_conf, char *err, size_t errlen);

/* results.json (results_file.c): written, and read back. A time that never
 * came (negative) is written as null and read back as -1. */
int runner_write_json(const char *path, const struct run_info *info, const struct scenario_result *res, int n);
/* Parse a results.json (a run's, an older one, or a hand-made baseline:
 * a "scenarios" list whose entries have at least topology, a, b, outcome
 * and path). 0, or -EINVAL with err saying what is wrong and where; the
 * scenarios are freed with runner_free_results. */
int runner_parse_results(const char *text, size_t len, struct run_set *out, char *err, size_t errlen);
/* The same from a file (err names it). */
int runner_read_results(const char *path, struct run_set *out, char *err, size_t errlen);
void runner_free_results(struct run_set *set);

/* Reports (report.c, report_html.c). */
int runner_write_junit(const char *path, const struct scenario_result *res, int n, double wall_s);
/* The page for people, of one run or several side by side (sets; the
 * first is the one a run writes): a headline, what ran and where, the
 * matrix with unexpected cells marked, every scenario in a table, time to
 * direct per technique as a distribution, lifecycle timelines, and with
 * n_conf conformance reports (may be 0) a section of their verdicts. */
int runner_write_html(const char *path, const struct run_set *sets, int nsets, const struct conform_report *const conf[],
		      int n_conf);
void runner_print_matrix(FILE *out, const struct scenario_result *res, int n);
/* A cell's words: "direct 0.8s", "relay 0.1s", "FAIL". */
const char *runner_cell_text(const struct scenario_result *r, char *buf, size_t len);
/* The models of the two-sites pairs (not lifecycle ones), in order of
 * first appearance, at most max; and the result of one pair (either way
 * round; NULL: none). */
int runner_models_of(const struct scenario_result *res, int n, char names[][RUNNER_NAME], int max);
const struct scenario_result *runner_find(const struct scenario_result *res, int n, const char *topo, const char *a,
					   const char *b);
/* Compare with an earlier run (a results.json read back): each cell that
 * got worse (direct to relay, connected to failed, or a first reply
 * slower than twice the baseline's plus a second) is printed; returns how
 * many. */
int runner_baseline_check(const struct run_set *base, const struct scenario_result *res, int n, FILE *out);
/* How many of the baseline's cells the planned scenarios will run again
 * (0: a baseline that compares nothing). */
int runner_baseline_overlap(const struct run_set *base, const struct scenario *sc, int n);

#endif
