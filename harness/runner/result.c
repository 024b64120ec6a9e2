/* What a scenario's result means, and where its files go. */
#include "runner.h"

#include <stdio.h>

/* A model for a directory name: a path's slashes become '_'. */
static const char *dir_word(const char *model, char *buf, size_t len)
{
	snprintf(buf, len, "%s", model[0] ? model : "-");
	for (char *p = buf; *p; p++)
		if (*p == '/')
			*p = '_';
	return buf;
}

void runner_scenario_dir(const struct runner_opts *o, const struct scenario *sc, char *buf, size_t len)
{
	char a[sizeof(sc->a)], b[sizeof(sc->b)];

	if (sc->lifecycle[0])
		snprintf(buf, len, "%s/scenarios/%s%s%.0d", o->outdir, sc->lifecycle, sc->repeat ? "-" : "", sc->repeat);
	else
		snprintf(buf, len, "%s/scenarios/%s-%s-%s%s%.0d", o->outdir, sc->topology, dir_word(sc->a, a, sizeof(a)),
			 dir_word(sc->b, b, sizeof(b)), sc->repeat ? "-" : "", sc->repeat);
}

bool runner_expect_wrong(const struct scenario_result *r)
{
	return r->connected && r->path == PATH_DIRECT && !r->expected_direct && r->expected_technique[0];
}

bool runner_as_expected(const struct scenario_result *r)
{
	return r->connected && (!r->expected_direct || r->path == PATH_DIRECT) && r->lc.pairs_connected == r->lc.pairs &&
	       !runner_expect_wrong(r);
}

bool runner_disagrees(const struct scenario_result *r)
{
	return r->connected && r->tool_said_path != PATH_UNKNOWN && r->tool_said_path != r->path;
}
