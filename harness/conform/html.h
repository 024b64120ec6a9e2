/* Conformance verdicts as HTML: one table, a column per NAT checked, a row
 * per requirement, each cell's evidence on hover. For `punchlab conform
 * --html` and the section of `punchlab run --conform`'s report. */
#ifndef PL_CONFORM_HTML_H
#define PL_CONFORM_HTML_H

#include "check.h"

#include <stdio.h>

/* The section (heading, legend, table id "conformance") for n reports. */
void conform_html_section(FILE *f, const struct conform_report *const reps[], int n);
/* A page of its own holding only that section. */
int conform_write_html(const char *path, const struct conform_report *const reps[], int n);

#endif
