/* Conformance: each observable requirement of the NAT behaviour RFCs
 * (4787 UDP, 5382 TCP, 5508 ICMP, 6888 carrier NAT) as a named test with
 * its RFC level, judged from what the STUN probe measured and what the
 * conformance tests observed. */
#ifndef PL_CONFORM_H
#define PL_CONFORM_H

#include "../stun/probe.h"
#include "observe.h"

#include <stdio.h>

enum conform_level { CONFORM_MUST, CONFORM_SHOULD, CONFORM_MAY };
/* pass; FAIL; n/a: it does not apply to this NAT; skipped: not measured
 * (a --long check not asked for, or one that could not be made). */
enum conform_verdict { CONFORM_PASS, CONFORM_FAIL, CONFORM_NA, CONFORM_SKIP };

struct conform_row {
	const char *id;             /* "RFC4787 REQ-1" */
	const char *what;
	enum conform_level level;
	enum conform_verdict verdict;
	char evidence[160];
};

#define CONFORM_MAX_ROWS 48

/* Judge measurement m (lifetimes measured if m->lifetime_* are set) and
 * observations o; rows gets one entry per requirement. Returns the count. */
int conform_judge(const struct nat_measured *m, const struct conform_obs *o, struct conform_row rows[CONFORM_MAX_ROWS]);
/* What was measured, as a model (name: its name) that `punchlab expect` and
 * `punchlab run` take; what was not measured keeps the model defaults. */
void conform_measured_model(const struct nat_measured *m, const char *name, struct nat_model *out);
/* And what o saw beyond the probe: the port-mapping protocols whose
 * mapping let an outside host in, and IPv6's kind (firewall: not
 * translated; nptv6: port and host part kept, one word of it adjusted at
 * most; else nat66). */
void conform_measured_more(const struct conform_obs *o, struct nat_model *out);
/* The row with ID, or NULL. */
const struct conform_row *conform_find(const struct conform_row *rows, int n, const char *id);
/* Did any MUST fail? */
bool conform_must_failed(const struct conform_row *rows, int n);
void conform_print(const char *subject, const struct conform_row *rows, int n, FILE *out);
void conform_print_json(const char *subject, const struct conform_row *rows, int n, FILE *out);

/* "pass", "FAIL", "n/a" (does not apply to this NAT) or "skipped" (not
 * measured: --long, --tcp-idle). */
const char *conform_verdict_word(const struct conform_row *r);

#endif
