/* Sharding: a plan split into N deterministic parts (each a CI runner's),
 * and the parts' results joined into what one run would have written. */
#include "runner.h"
#include "../../lib/util/text.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SHARDS 256

bool runner_shard_parse(const char *s, int *i, int *n)
{
	unsigned long a, b;
	char first[12];
	const char *slash = strchr(s, '/');

	if (!slash || slash == s || (size_t)(slash - s) >= sizeof(first))
		return false;
	snprintf(first, sizeof(first), "%.*s", (int)(slash - s), s);
	if (!text_parse_uint(first, 1, MAX_SHARDS, &a) || !text_parse_uint(slash + 1, 1, MAX_SHARDS, &b) || a > b)
		return false;
	*i = (int)a;
	*n = (int)b;
	return true;
}

int runner_shard(struct scenario *sc, int count, int i, int n)
{
	int kept = 0;

	for (int k = i - 1; k < count; k += n)
		sc[kept++] = sc[k];
	return kept;
}

/* The command a single run would have had: --shard I/N left out, the
 * value of --output made outdir. */
static void single_command(const char *cmd, const char *outdir, char *out, size_t len)
{
	char word[1024];
	size_t at = 0;
	bool skip = false, output = false;

	out[0] = '\0';
	while (*cmd) {
		size_t n = strcspn(cmd, " ");
		snprintf(word, sizeof(word), "%.*s", (int)n, cmd);
		cmd += n + (cmd[n] == ' ');
		if (skip) {
			skip = false;
			continue;
		}
		if (!strcmp(word, "--shard")) {
			skip = true;
			continue;
		}
		if (!strncmp(word, "--shard=", 8))
			continue;
		if (output)
			snprintf(word, sizeof(word), "%s", outdir);
		output = !strcmp(word, "--output");
		if (!strncmp(word, "--output=", 9))
			snprintf(word, sizeof(word), "--output=%s", outdir);
		if (at < len)
			at += (size_t)snprintf(out + at, len - at, "%s%s", at ? " " : "", word);
	}
}

int runner_merge(const struct run_set *shards, int n, const char *outdir, struct run_set *out, char *err, size_t errlen)
{
	const struct run_set *by[MAX_SHARDS + 1] = { NULL };
	int total = 0, of;

	memset(out, 0, sizeof(*out));
	if (n < 1)
		return text_fail(err, errlen, NULL, 0, "no shard to merge");
	of = shards[0].info.shards;
	for (int k = 0; k < n; k++) {
		const struct run_info *in = &shards[k].info;
		if (!in->shards)
			return text_fail(err, errlen, NULL, 0, "%s is a whole run, not a shard (no \"shard\" in its header)",
					 in->source[0] ? in->source : "a run");
		if (in->shards != of)
			return text_fail(err, errlen, NULL, 0, "%s is shard %d/%d, %s of %d", in->source, in->shard, in->shards,
					 shards[0].info.source, of);
		if (strcmp(in->tool, shards[0].info.tool) || strcmp(in->tool_version, shards[0].info.tool_version) ||
		    in->tcp != shards[0].info.tcp)
			return text_fail(err, errlen, NULL, 0, "%s ran %s %s, %s ran %s %s: not one plan", in->source, in->tool,
					 in->tool_version, shards[0].info.source, shards[0].info.tool, shards[0].info.tool_version);
		{
			/* the same plan: the same command but for --shard and --output */
			char mine[1024], first[1024];
			single_command(in->command, "", mine, sizeof(mine));
			single_command(shards[0].info.command, "", first, sizeof(first));
			if (strcmp(mine, first))
				return text_fail(err, errlen, NULL, 0, "%s ran \"%s\", %s \"%s\": not one plan", in->source, in->command,
						 shards[0].info.source, shards[0].info.command);
		}
		if (by[in->shard])
			return text_fail(err, errlen, NULL, 0, "shard %d/%d given twice (%s and %s)", in->shard, of,
					 by[in->shard]->info.source, in->source);
		by[in->shard] = &shards[k];
		total += shards[k].n;
	}
	for (int i = 1; i <= of; i++)
		if (!by[i])
			return text_fail(err, errlen, NULL, 0, "shard %d/%d is missing: give all %d", i, of, of);
	for (int i = 1; i <= of; i++)   /* shard i holds plan places i-1, i-1+N, ... */
		if (by[i]->n != (total - i + of) / of)
			return text_fail(err, errlen, NULL, 0, "%s holds %d scenarios; shard %d/%d of %d would hold %d",
					 by[i]->info.source, by[i]->n, i, of, total, (total - i + of) / of);
	if (total > RUNNER_MAX_SCENARIOS)
		return text_fail(err, errlen, NULL, 0, "%d scenarios: a run has at most %d", total, RUNNER_MAX_SCENARIOS);
	if (!(out->res = calloc(total ? (size_t)total : 1, sizeof(*out->res))))
		return text_fail(err, errlen, NULL, 0, "out of memory");
	for (int p = 0; p < total; p++)
		out->res[p] = by[p % of + 1]->res[p / of];
	out->n = total;
	out->info = by[1]->info;
	out->info.shard = out->info.shards = 0;
	out->info.source[0] = '\0';
	out->info.baseline[0] = '\0';   /* each shard's own comparison: not the whole's */
	out->info.worse = -1;
	for (int i = 2; i <= of; i++)
		if (by[i]->info.wall_s > out->info.wall_s)
			out->info.wall_s = by[i]->info.wall_s;
	single_command(by[1]->info.command, outdir, out->info.command, sizeof(out->info.command));
	return 0;
}
