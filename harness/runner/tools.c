/* The tools under test the harness knows (runner/tool_*.c). */
#include "runner.h"

#include <string.h>

extern const struct runner_tool runner_tool_ref, runner_tool_wgstatic, runner_tool_nebula, runner_tool_tinc;

const struct runner_tool *const runner_tools[] = { &runner_tool_ref, &runner_tool_wgstatic, &runner_tool_nebula, &runner_tool_tinc, NULL };

const struct runner_tool *runner_tool_find(const char *name)
{
	for (int i = 0; runner_tools[i]; i++)
		if (!strcmp(runner_tools[i]->name, name))
			return runner_tools[i];
	return NULL;
}
