/* Where punchlab finds its data (nat-models/, topologies/) and keeps runs. */
#ifndef PL_PATHS_H
#define PL_PATHS_H

#include <stddef.h>

#define PL_RUN_DIR "/run/punchlab"

/* Directory SUB of the punchlab tree: $PUNCHLAB_HOME/SUB, else beside the
 * executable (build/../SUB), else PL_DATADIR/SUB. */
int paths_data_dir(const char *sub, char *buf, size_t len);

#endif
