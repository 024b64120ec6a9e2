#include "conform.h"

#include <string.h>

static const char *const level_names[] = { "MUST", "SHOULD", "MAY" };
static const char *const verdict_names[] = { "pass", "FAIL", "n/a" };

static struct conform_row *row(struct conform_row *rows, int *n, const char *id, const char *what,
			       enum conform_level level)
{
	struct conform_row *r = &rows[(*n)++];

	memset(r, 0, sizeof(*r));
	r->id = id;
	r->what = what;
	r->level = level;
	r->verdict = CONFORM_NA;
	return r;
}

static const char *dep(int v)
{
	return v < 0 ? "unknown" : nat_dependence_name((enum nat_dependence)v);
}

int conform_judge(const struct nat_measured *m, struct conform_row rows[CONFORM_MAX_ROWS])
{
	struct conform_row *r;
	int n = 0;
	bool napt = m->udp && m->translated;

	/* RFC 4787 REQ-1: endpoint-independent mapping. */
	r = row(rows, &n, "RFC4787 REQ-1", "endpoint-independent mapping", CONFORM_MUST);
	if (!m->udp)
		snprintf(r->evidence, sizeof(r->evidence), "no UDP gets through");
	else if (!napt)
		snprintf(r->evidence, sizeof(r->evidence), "no translation");
	else {
		r->verdict = m->mapping == NAT_ENDPOINT_INDEPENDENT ? CONFORM_PASS : CONFORM_FAIL;
		snprintf(r->evidence, sizeof(r->evidence), "mapping is %s", dep(m->mapping));
	}
	/* RFC 4787 REQ-3 / §4.2.1: port preservation is a MAY; overloading is
	 * refused by Linux NAT itself, so what is seen is the allocation. */
	r = row(rows, &n, "RFC4787 REQ-3", "port assignment (preservation)", CONFORM_MAY);
	if (napt) {
		r->verdict = m->ports == NAT_PORTS_PRESERVE ? CONFORM_PASS : CONFORM_NA;
		snprintf(r->evidence, sizeof(r->evidence), "ports %s%s", m->ports < 0 ? "unknown" : nat_ports_name((enum nat_ports)m->ports),
			 m->ports == NAT_PORTS_PRESERVE ? "" : " (allowed)");
	}
	/* RFC 4787 REQ-5: a UDP mapping lives at least 2 minutes. */
	r = row(rows, &n, "RFC4787 REQ-5", "mapping lifetime >= 120 s", CONFORM_MUST);
	if (!napt)
		snprintf(r->evidence, sizeof(r->evidence), "no translation");
	else if (m->lifetime_alive < 0 && m->lifetime_dead < 0)
		snprintf(r->evidence, sizeof(r->evidence), "not measured (use --long)");
	else {
		/* Alive at a check near or past 2 minutes passes; gone by then fails. */
		r->verdict = m->lifetime_alive >= 119 ? CONFORM_PASS
			     : m->lifetime_dead >= 0 && m->lifetime_dead <= 120 ? CONFORM_FAIL
										  : CONFORM_NA;
		snprintf(r->evidence, sizeof(r->evidence), "alive at %d s, gone at %d s", m->lifetime_alive, m->lifetime_dead);
	}
	/* RFC 4787 REQ-8: endpoint-independent filtering is RECOMMENDED for
	 * transparency, address-dependent for strictness; port-dependent is
	 * neither. */
	r = row(rows, &n, "RFC4787 REQ-8", "filtering endpoint-independent or address-dependent", CONFORM_SHOULD);
	if (m->udp && m->filtering >= 0) {
		r->verdict = m->filtering == NAT_ADDRESS_AND_PORT_DEPENDENT ? CONFORM_FAIL : CONFORM_PASS;
		snprintf(r->evidence, sizeof(r->evidence), "filtering is %s", dep(m->filtering));
	}
	/* RFC 4787 REQ-9: hairpinning, with the sender's external address. */
	r = row(rows, &n, "RFC4787 REQ-9", "hairpinning, from the external address", CONFORM_MUST);
	if (napt && m->hairpin >= 0) {
		r->verdict = m->hairpin && m->hairpin_external ? CONFORM_PASS : CONFORM_FAIL;
		snprintf(r->evidence, sizeof(r->evidence), "%s", !m->hairpin ? "a packet to our own mapping never came back"
								: m->hairpin_external ? "came back from our external address"
										       : "came back from the internal address");
	}
	return n;
}

bool conform_must_failed(const struct conform_row *rows, int n)
{
	for (int i = 0; i < n; i++)
		if (rows[i].level == CONFORM_MUST && rows[i].verdict == CONFORM_FAIL)
			return true;
	return false;
}

void conform_print(const char *subject, const struct conform_row *rows, int n, FILE *out)
{
	fprintf(out, "conformance of %s\n%-14s %-52s %-6s %-7s %s\n", subject, "REQUIREMENT", "", "LEVEL", "VERDICT",
		"EVIDENCE");
	for (int i = 0; i < n; i++)
		fprintf(out, "%-14s %-52s %-6s %-7s %s\n", rows[i].id, rows[i].what, level_names[rows[i].level],
			verdict_names[rows[i].verdict], rows[i].evidence);
}

void conform_print_json(const char *subject, const struct conform_row *rows, int n, FILE *out)
{
	fprintf(out, "{\"subject\":\"%s\",\"requirements\":[", subject);
	for (int i = 0; i < n; i++)
		fprintf(out, "%s{\"id\":\"%s\",\"what\":\"%s\",\"level\":\"%s\",\"verdict\":\"%s\",\"evidence\":\"%s\"}",
			i ? "," : "", rows[i].id, rows[i].what, level_names[rows[i].level],
			rows[i].verdict == CONFORM_FAIL ? "fail" : verdict_names[rows[i].verdict], rows[i].evidence);
	fprintf(out, "],\"must_failed\":%s}\n", conform_must_failed(rows, n) ? "true" : "false");
}
