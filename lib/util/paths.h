/* Where punchlab finds its data (nat-models/, topologies/) and keeps runs. */
#ifndef PL_PATHS_H
#define PL_PATHS_H

#include <stdbool.h>
#include <stddef.h>

#define PL_STATE_DIR "/run/punchlab"

/* The folder this program was started from (where its sibling programs
 * are): "" when /proc/self/exe cannot be read. */
void paths_program_dir(char *buf, size_t len);
/* Directory SUB of the punchlab tree: $PUNCHLAB_HOME/SUB, else beside the
 * executable (build/../SUB), else PL_DATADIR/SUB. */
int paths_data_dir(const char *sub, char *buf, size_t len);
/* What to say when paths_data_dir finds no SUB: one message everywhere.
 * Returns buf. */
const char *paths_no_data_dir(const char *sub, char *buf, size_t len);
/* Remove the tree at path (files, links, directories; symbolic links are
 * removed, never followed), as `rm -rf` does without a shell. 0 when it is
 * gone (or never was), else the first error. */
int paths_remove_tree(const char *path);
/* Copy file src to dst (made or truncated, mode 0644). */
int paths_copy_file(const char *src, const char *dst);
/* Is PROG an executable file in a directory of $PATH (or a path to one)? */
bool paths_have_program(const char *prog);

#endif
