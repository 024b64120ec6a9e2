/* The punchlab subcommands; each returns the process exit code. */
#ifndef PL_CMD_H
#define PL_CMD_H

int cmd_topo(int argc, char **argv);
int cmd_nat(int argc, char **argv);
int cmd_nat_check(int argc, char **argv);
int cmd_stun_server(int argc, char **argv);
int cmd_stun_probe(int argc, char **argv);
int cmd_expect(int argc, char **argv);
int cmd_fault(int argc, char **argv);
int cmd_conform(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_merge(int argc, char **argv);

/* Exit codes shared by every command. */
#define EXIT_MISMATCH 1   /* what was checked does not hold */
#define EXIT_USAGE 2      /* bad arguments or input */
#define EXIT_FAIL 3       /* the lab could not be built or run */

/* Is arg one of -h/--help? */
int cmd_is_help(const char *arg);
/* -o/--output VALUE and -h/--help, the options of commands that take
 * runs (report, merge): *output set when given. Returns the index of the
 * first argument after them; -1 after --help (usage printed: exit 0); -2
 * for anything else (said, with usage: exit 2). */
int cmd_output_option(int argc, char **argv, const char *name, const char *usage, const char **output);
/* Refuse to go on without root; returns 0 when root. */
int cmd_need_root(const char *what);

#endif
