/* The version every punchlab program reports with --version (the lab and
 * the mesh are released together). */
#ifndef PL_UTIL_VERSION_H
#define PL_UTIL_VERSION_H

#define PL_VERSION "0.4.0"

#endif
