/* ci/github-actions.yml, read with libyaml as GitHub would read it: the
 * matrix job runs every shard of one split (its shard list is 1..N and N is
 * what it passes to --shard), keeps each shard's results under a name of
 * its own, and the merge job waits for it, fetches every one of them and
 * merges them all. It cannot run here; its wiring can be checked. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "util/paths.h"

static yaml_document_t doc;

static int load(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];
	yaml_parser_t p;
	FILE *f;

	(void)state;
	assert_int_equal(paths_data_dir("ci", dir, sizeof(dir)), 0);
	snprintf(path, sizeof(path), "%s/github-actions.yml", dir);
	assert_non_null(f = fopen(path, "rb"));
	assert_true(yaml_parser_initialize(&p));
	yaml_parser_set_input_file(&p, f);
	if (!yaml_parser_load(&p, &doc))
		fail_msg("%s: %s at line %zu", path, p.problem ? p.problem : "not YAML", p.problem_mark.line + 1);
	yaml_parser_delete(&p);
	fclose(f);
	assert_non_null(yaml_document_get_root_node(&doc));
	return 0;
}

static int unload(void **state)
{
	(void)state;
	yaml_document_delete(&doc);
	return 0;
}

static const char *scalar(yaml_node_t *n)
{
	assert_non_null(n);
	assert_int_equal(n->type, YAML_SCALAR_NODE);
	return (const char *)n->data.scalar.value;
}

/* The value of key in mapping m (NULL when absent). */
static yaml_node_t *get(yaml_node_t *m, const char *key)
{
	assert_non_null(m);
	assert_int_equal(m->type, YAML_MAPPING_NODE);
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(&doc, p->key);
		if (k->type == YAML_SCALAR_NODE && !strcmp((const char *)k->data.scalar.value, key))
			return yaml_document_get_node(&doc, p->value);
	}
	return NULL;
}

/* A path of keys: get(get(get(root, a), b), ...). */
static yaml_node_t *at(const char *path)
{
	char copy[256], *save = NULL;
	yaml_node_t *n = yaml_document_get_root_node(&doc);

	snprintf(copy, sizeof(copy), "%s", path);
	for (char *k = strtok_r(copy, ".", &save); k && n; k = strtok_r(NULL, ".", &save))
		n = get(n, k);
	if (!n)
		fail_msg("ci/github-actions.yml has no %s", path);
	return n;
}

static int items(yaml_node_t *seq)
{
	assert_int_equal(seq->type, YAML_SEQUENCE_NODE);
	return (int)(seq->data.sequence.items.top - seq->data.sequence.items.start);
}

static yaml_node_t *item(yaml_node_t *seq, int i)
{
	return yaml_document_get_node(&doc, seq->data.sequence.items.start[i]);
}

/* The step of job's steps whose uses starts with action, or whose run
 * holds text (NULL: none). */
static yaml_node_t *step(const char *job, const char *uses, const char *run)
{
	char path[64];
	yaml_node_t *steps;

	snprintf(path, sizeof(path), "jobs.%s.steps", job);
	steps = at(path);
	for (int i = 0; i < items(steps); i++) {
		yaml_node_t *s = item(steps, i), *u = get(s, "uses"), *r = get(s, "run");
		if (uses && u && !strncmp(scalar(u), uses, strlen(uses)))
			return s;
		if (run && r && strstr(scalar(r), run))
			return s;
	}
	return NULL;
}

static void every_shard_runs_once_and_the_merge_takes_them_all(void **state)
{
	yaml_node_t *shards = at("jobs.matrix.strategy.matrix.shard"), *s, *needs = at("jobs.merge.needs");
	char want[128];
	const char *path;
	int n = items(shards);

	(void)state;
	assert_true(n >= 2);
	for (int i = 0; i < n; i++)
		assert_int_equal(atoi(scalar(item(shards, i))), i + 1);   /* 1..N, each once */
	assert_int_equal(atoi(scalar(at("env.SHARDS"))), n);
	assert_string_equal(scalar(at("jobs.matrix.strategy.fail-fast")), "false");
	/* the shard's own part of the plan, into a folder of its own ... */
	assert_non_null(s = step("matrix", NULL, "punchlab run "));
	assert_non_null(strstr(scalar(get(s, "run")), "--shard ${{ matrix.shard }}/$SHARDS "));
	assert_non_null(strstr(scalar(get(s, "run")), "--output shard-${{ matrix.shard }}"));
	/* ... kept under its own name ... */
	assert_non_null(s = step("matrix", "actions/upload-artifact@", NULL));
	assert_string_equal(scalar(get(get(s, "with"), "name")), "shard-${{ matrix.shard }}");
	assert_string_equal(scalar(get(get(s, "with"), "path")), "shard-${{ matrix.shard }}/");
	/* ... and the merge waits for all of them, fetches all, merges all. */
	assert_string_equal(needs->type == YAML_SEQUENCE_NODE ? scalar(item(needs, 0)) : scalar(needs), "matrix");
	assert_non_null(s = step("merge", "actions/download-artifact@", NULL));
	assert_string_equal(scalar(get(get(s, "with"), "pattern")), "shard-*");
	path = scalar(get(get(s, "with"), "path"));
	snprintf(want, sizeof(want), " %s%sshard-*", path, path[strlen(path) - 1] == '/' ? "" : "/");
	assert_non_null(s = step("merge", NULL, "punchlab merge --output "));
	assert_non_null(strstr(scalar(get(s, "run")), want));
	/* and the tests themselves */
	assert_non_null(step("check", NULL, "make check"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(every_shard_runs_once_and_the_merge_takes_them_all, load, unload),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
