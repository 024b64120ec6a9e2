#include "html.h"
#include "../../lib/util/text.h"

#include <errno.h>
#include <string.h>

void conform_html_section(FILE *f, const struct conform_report *const reps[], int n)
{
	static const char *const level[] = { "MUST", "SHOULD", "MAY" };
	static const char *const cls[] = { "pass", "fail", "na", "skipped" };
	const struct conform_report *first = NULL;

	for (int j = 0; j < n && !first; j++)
		if (reps[j] && !reps[j]->check.error)
			first = reps[j];
	fprintf(f, "<h2>NAT conformance</h2>\n<p>Each requirement of RFC 4787 (UDP), 5382 (TCP), 5508 (ICMP) and 6888 "
		   "(carrier NAT), of port mapping (RFC 6886 NAT-PMP, RFC 6887 PCP, UPnP IGD) and of IPv6 (RFC 6092, "
		   "RFC 6296) that can be seen from outside, as <code>punchlab conform</code> judged it. Hover a "
		   "verdict for its evidence.</p>\n<style>td.pass{background:#c8e6c9}td.fail{background:#ffcdd2}"
		   "td.na{background:#eeeeee}#conformance td:first-child{white-space:nowrap}</style>\n<table id=\"conformance\">\n<tr><th>requirement</th><th></th>"
		   "<th>level</th>");
	for (int j = 0; j < n; j++) {
		fputs("<th>", f);
		text_xml_put(f, reps[j] ? reps[j]->check.model : "?");
		fputs("</th>", f);
	}
	fputs("</tr>\n", f);
	for (int i = 0; first && i < first->n_rows; i++) {
		const struct conform_row *r = &first->rows[i];

		fprintf(f, "<tr><td>%s</td><td>", r->id);
		text_xml_put(f, r->what);
		fprintf(f, "</td><td>%s</td>", level[r->level]);
		for (int j = 0; j < n; j++) {
			const struct conform_row *c = reps[j] && !reps[j]->check.error
							      ? conform_find(reps[j]->rows, reps[j]->n_rows, r->id)
							      : NULL;

			if (!c) {
				fputs("<td class=\"na\">error</td>", f);
				continue;
			}
			fprintf(f, "<td class=\"%s\" data-id=\"%s\" data-subject=\"", cls[c->verdict], c->id);
			text_xml_put(f, reps[j]->check.model);
			fputs("\" title=\"", f);
			text_xml_put(f, c->evidence);
			fprintf(f, "\">%s</td>", conform_verdict_word(c));
		}
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);
}

int conform_write_html(const char *path, const struct conform_report *const reps[], int n)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fprintf(f, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>punchlab conform</title>\n"
		   "<style>body{font-family:sans-serif;margin:2em}td,th{padding:2px 8px;text-align:left}</style></head><body>\n"
		   "<h1>punchlab conform</h1>\n");
	conform_html_section(f, reps, n);
	fprintf(f, "</body></html>\n");
	return fclose(f) ? -errno : 0;
}
