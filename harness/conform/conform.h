/* Conformance: each observable requirement of the NAT behaviour RFCs as a
 * named test with its RFC level, judged from what the probe measured. This
 * first part covers RFC 4787's UDP requirements the probe can see. */
#ifndef PL_CONFORM_H
#define PL_CONFORM_H

#include "../stun/probe.h"

#include <stdio.h>

enum conform_level { CONFORM_MUST, CONFORM_SHOULD, CONFORM_MAY };
enum conform_verdict { CONFORM_PASS, CONFORM_FAIL, CONFORM_NA };

struct conform_row {
	const char *id;             /* "RFC4787 REQ-1" */
	const char *what;
	enum conform_level level;
	enum conform_verdict verdict;
	char evidence[160];
};

#define CONFORM_MAX_ROWS 8

/* Judge measurement m (lifetimes measured if m->lifetime_* are set); rows
 * gets one entry per requirement. Returns the count. */
int conform_judge(const struct nat_measured *m, struct conform_row rows[CONFORM_MAX_ROWS]);
/* Did any MUST fail? */
bool conform_must_failed(const struct conform_row *rows, int n);
void conform_print(const char *subject, const struct conform_row *rows, int n, FILE *out);
void conform_print_json(const char *subject, const struct conform_row *rows, int n, FILE *out);

#endif
