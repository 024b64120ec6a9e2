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
#include "adapter.h"
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

#define RUN_MAX_PORTMAPS 4
struct scenario_result {
	struct scenario sc;
	bool ran;                  /* false: could not be set up (error says why) */
	bool connected;
	enum path path;            /* direct, relay, none (the routers' counters say) */
	bool expected_direct;
	char expected_technique[32];
	bool expected_ipv6_only;   /* direct expected over IPv6 only (IPv4 relays the pair) */
	char expected_reason[512];
	/* From the later of a's and b's start lines: the first probe
	 * answered, the first answered the direct way (to the packet, or to
	 * a window where the kernel cannot log packets); -1: never. */
	double time_to_first_reply_s, time_to_direct_s;
	double time_to_direct_reg_s;   /* direct from the later of the two registrations (`registered`; -1: unknown) */
	double rtt_p50, rtt_p90, rtt_p99;                   /* ms; -1: no reply */
	int probes_sent, probes_answered;
	uint64_t direct_bytes, relay_bytes;                 /* tunnel bytes the routers counted */
	uint64_t direct_bytes_ipv6;                         /* of direct_bytes, those over IPv6 */
	enum path tool_said_path;  /* what the tool reported (PATH_UNKNOWN if it says nothing) */
	char tool_version[48];
	double wall_s;
	char error[300];
	char kept_run[INSTANCE_ID_LEN + 1];  /* --keep-failed: the run left up */
	struct lifecycle_result lc;
	/* Each router whose model maps ports on request: what it offers and
	 * what it had granted when the scenario was measured. */
	struct run_portmap {
		char router[32];
		unsigned offers;       /* NAT_PORTMAP_* bits of its model */
		int granted;           /* mappings it held */
		unsigned by;           /* the protocols that made them */
	} portmaps[RUN_MAX_PORTMAPS];
	int n_portmaps;
};

/* A tool under test, running in one scenario (tool.c): its adapter
 * (adapter.h) started on the relay host and on each peer, in their
 * namespaces, and what each peer's start line said. */
#define TOOL_MAX_HOSTS 4
struct tool_ctx {
	const struct adapter *ad;
	const struct instance *inst;
	const struct topo_net *net;
	char dir[600];             /* the scenario's files (the adapter's, its logs) */
	uint32_t addr_a, addr_b;   /* a's and b's addresses inside the tunnel (network order) */
	uint32_t addr_c;           /* c's, when the topology has a third peer (else 0) */
	uint16_t port_a, port_b, port_c;   /* "udp ADDR:PORT" lines: the endpoint on each host (0: a tunnel) */
	bool no_path;              /* the adapter has no `path` verb (it exited 2) */
	int n_hosts;
	struct tool_host {
		char name[32];
		bool relay;
		pid_t pid;         /* its `start` (0: not started) */
		bool exited;
		double line_at;    /* when its start line was seen (time_now_s, to TOOL_LINE_POLL_MS) */
	} hosts[TOOL_MAX_HOSTS];
};

#define TOOL_LINE_POLL_MS 2

/* Start the tool: `start relay` on the introducer host (when the topology
 * has one) until it says ready, then `start peer` on a, b (and c) at once
 * until each says its tunnel address; at most timeout_ms in all. On
 * failure err says which host, what the adapter did and where its log is. */
int tool_start(struct tool_ctx *t, int timeout_ms, char *err, size_t errlen);
/* The later of a's and b's start lines (time_now_s). */
double tool_started_at(const struct tool_ctx *t);
/* The later of the times a and b say they first heard from their
 * rendezvous (`registered`: CLOCK_MONOTONIC seconds, time_now_s's clock);
 * -ENOTSUP when the adapter cannot say. */
int tool_registered_at(struct tool_ctx *t, double *at);
/* What a says its path to b is (`path b`), and whether it has stopped
 * trying for better; -ENOTSUP when the adapter cannot say. */
int tool_said_path(struct tool_ctx *t, enum path *path, bool *settled);
/* `stop ROLE` on each host it started on, then its start processes ended
 * (what is left in the run's namespaces goes with them). */
void tool_stop(struct tool_ctx *t);

struct runner_opts {
	const char *tool;
	const struct adapter *adapter;   /* the tool's folder */
	char tool_version[48];
	bool tcp;                /* the tool's traffic is TCP (`adapter transport`): expect as TCP sees the NATs */
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

/* Sharding (merge.c): "I/N" into *i and *n (1 <= I <= N <= 256); and
 * the scenarios of shard I of N kept in sc, the rest dropped (every Nth,
 * from the Ith: the same plan always splits the same way). Returns how
 * many are left. */
struct run_set;
bool runner_shard_parse(const char *s, int *i, int *n);
int runner_shard(struct scenario *sc, int count, int i, int n);
/* The shards of one plan (each a results.json of `run --shard I/N`, all
 * N of them, in any order) as the single run would have written them:
 * its scenarios in the plan's order, the first shard's header, the
 * longest wall time, and the command without --shard, its --output DIR
 * made outdir. 0, or -EINVAL with err (a shard missing or twice, another
 * N, another tool, a file that is no shard); out->res is freed with
 * runner_free_results. */
int runner_merge(const struct run_set *shards, int n, const char *outdir, struct run_set *out, char *err, size_t errlen);

/* Results (result.c): where a scenario's files go, OUTDIR/scenarios/NAME. */
void runner_scenario_dir(const struct runner_opts *o, const struct scenario *sc, char *buf, size_t len);
/* sc's topology with its models given to the topology's parameters
 * (A, B, C; "@NAME" is tests/data/NAME); params gets them as
 * "A=MODEL B=MODEL" (plen may be 0). */
int runner_resolve(const struct scenario *sc, struct topo_net *net, char *params, size_t plen, char *err, size_t errlen);
/* Connected, direct where `punchlab expect` says it can be (and only
 * there), and (with a third peer) every pair answering. */
bool runner_as_expected(const struct scenario_result *r);
/* Direct where `punchlab expect` says no direct path is possible: not a
 * pass but a disagreement with the theory (expect is wrong, or the lab). */
bool runner_expect_wrong(const struct scenario_result *r);
/* The tool said one path, the routers' counters show another. */
bool runner_disagrees(const struct scenario_result *r);
/* A pair not direct where `punchlab expect` says it can be: why, as far
 * as expect knows. */
enum short_of_direct {
	SHORT_NOT,         /* direct, or not expected to be (or a lifecycle scenario) */
	SHORT_TECHNIQUE,   /* needs a technique beyond the endpoints the introducer saw (prediction,
			    * birthday, openers, port mapping, IPv6 where IPv4
			    * relays): one the tool did not use */
	SHORT_UNKNOWN,     /* for no reason expect knows: the tool's bug, or ours */
};
enum short_of_direct runner_short_of_direct(const struct scenario_result *r);
/* What a SHORT_TECHNIQUE pair needs, as people read it: its expected
 * technique, or "IPv6" where only IPv6 goes direct. */
const char *runner_short_need(const struct scenario_result *r);
/* The techniques the SHORT_TECHNIQUE pairs of res need, each once in the
 * order first met (at most max), with how many pairs need each; returns
 * how many techniques. */
#define RUNNER_TECHNIQUE_LEN 32
int runner_short_techniques(const struct scenario_result *res, int n, char tech[][RUNNER_TECHNIQUE_LEN], int count[],
			    int max);
/* Its word in results.json ("technique", "unknown"; "" for SHORT_NOT). */
const char *runner_short_word(enum short_of_direct s);

/* Time to direct per technique across a run (every repeat), from the
 * pairs that went direct outside lifecycle scenarios: from the start
 * lines, and from the registrations where the tool says (n_reg 0: it
 * does not). Percentiles in seconds, -1 where none. */
struct ttd_summary {
	char technique[RUNNER_TECHNIQUE_LEN];
	int n, n_reg;
	double p50, p90, p99;
	double reg_p50, reg_p90, reg_p99;
};
/* In the order first met, at most max; returns how many. */
int runner_ttd_summary(const struct scenario_result *res, int n, struct ttd_summary *out, int max);

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
	int shard, shards;       /* --shard I/N (0/0: the whole plan) */
	bool tcp;                /* the tool's traffic is TCP: expect judged the NATs as TCP sees them */
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

/* Only the three files (results.json, junit.xml, report.html) into outdir,
 * as runner_write_results writes them (punchlab merge's). */
int runner_write_files(const char *outdir, const struct run_set *set, const struct conform_report *const conf[], int n_conf,
		       char *err, size_t errlen);
/* results.json (results_file.c): written, and read back. A time that never
 * came (negative) is written as null and read back as -1. */
int runner_write_json(const char *path, const struct run_info *info, const struct scenario_result *res, int n);
/* Parse a results.json (a run's, an older one, or a hand-made baseline:
 * a "scenarios" list whose entries have at least topology, a, b, outcome
 * and path). 0, or -EINVAL with err saying what is wrong and where; the
 * scenarios are freed with runner_free_results. */
int runner_parse_results(const char *text, size_t len, struct run_set *out, char *err, size_t errlen);
/* The same from a file (err names it). */
/* A run as people name it: the folder punchlab run wrote (its
 * results.json), or the file itself. */
int runner_read_run(const char *run, struct run_set *out, char *err, size_t errlen);
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
