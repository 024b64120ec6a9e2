/* Tools as folders: found by name along the tool path, asked whether they
 * can run and which version they are, and their lines read. */
#include "adapter.h"
#include "../../lib/util/paths.h"
#include "../../lib/util/proc.h"
#include "../../lib/util/text.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int adapter_path_add(struct adapter_path *p, const char *dir)
{
	if (p->n >= ADAPTER_MAX_DIRS)
		return -E2BIG;
	p->dirs[p->n++] = dir;
	return 0;
}

bool adapter_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= ADAPTER_NAME || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.", name[i]))
			return false;
	return true;
}

/* The folders to look in, in order: --tool-dir, $PUNCHLAB_TOOL_PATH, the
 * project's tools/ (into bufs). Returns how many. */
static int folders(const struct adapter_path *p, char bufs[][PATH_MAX], int max)
{
	const char *env = getenv("PUNCHLAB_TOOL_PATH");
	int n = 0;

	for (int i = 0; p && i < p->n && n < max; i++)
		snprintf(bufs[n++], PATH_MAX, "%s", p->dirs[i]);
	while (env && *env && n < max) {
		size_t l = strcspn(env, ":");
		if (l)
			snprintf(bufs[n++], PATH_MAX, "%.*s", (int)l, env);
		env += l + (env[l] == ':');
	}
	if (n < max && paths_data_dir("tools", bufs[n], PATH_MAX) == 0)
		n++;
	return n;
}

int adapter_find(const struct adapter_path *p, const char *name, struct adapter *a, char *err, size_t errlen)
{
	char dirs[ADAPTER_MAX_DIRS + 8][PATH_MAX], looked[1024] = "";
	int n = folders(p, dirs, ADAPTER_MAX_DIRS + 8);
	struct stat st;

	if (!adapter_name_ok(name)) {
		snprintf(err, errlen, "\"%s\" cannot be a tool's name (letters, digits, '-', '_' and '.')", name);
		return -EINVAL;
	}
	for (int i = 0; i < n; i++) {
		memset(a, 0, sizeof(*a));
		snprintf(a->name, sizeof(a->name), "%s", name);
		snprintf(a->dir, sizeof(a->dir), "%.*s/%s", PATH_MAX - ADAPTER_NAME - 2, dirs[i], name);
		snprintf(a->program, sizeof(a->program), "%.*s/adapter", PATH_MAX - 10, a->dir);
		if (stat(a->program, &st) == 0 && S_ISREG(st.st_mode)) {
			if (access(a->program, X_OK) == 0)
				return 0;
			snprintf(err, errlen, "%s is not executable (chmod +x it)", a->program);
			return -EACCES;
		}
		snprintf(looked + strlen(looked), sizeof(looked) - strlen(looked), "%s%s", i ? ", " : "", dirs[i]);
	}
	snprintf(err, errlen, "no tool \"%s\" (no %s/adapter in %s); punchlab run --list-tools shows them", name, name,
		 n ? looked : "any folder: no tools/ found, and no --tool-dir or PUNCHLAB_TOOL_PATH given");
	return -ENOENT;
}

static int by_name(const void *x, const void *y)
{
	return strcmp(((const struct adapter *)x)->name, ((const struct adapter *)y)->name);
}

int adapter_list(const struct adapter_path *p, struct adapter *out, int max)
{
	char dirs[ADAPTER_MAX_DIRS + 8][PATH_MAX], err[64];
	int nd = folders(p, dirs, ADAPTER_MAX_DIRS + 8), n = 0;

	for (int i = 0; i < nd && n < max; i++) {
		DIR *d = opendir(dirs[i]);
		struct dirent *e;
		int first = n;
		if (!d)
			continue;
		while ((e = readdir(d)) && n < max) {
			bool seen = false;
			if (!adapter_name_ok(e->d_name))
				continue;
			for (int k = 0; k < n && !seen; k++)
				seen = !strcmp(out[k].name, e->d_name);
			/* Found here, as adapter_find would find it first. */
			if (!seen && adapter_find(&(struct adapter_path){ { dirs[i] }, 1 }, e->d_name, &out[n], err, sizeof(err)) == 0 &&
			    !strncmp(out[n].dir, dirs[i], strlen(dirs[i])) && out[n].dir[strlen(dirs[i])] == '/')
				n++;
		}
		closedir(d);
		qsort(out + first, (size_t)(n - first), sizeof(*out), by_name);
	}
	return n;
}

/* A verb outside the lab (available, version): with PUNCHLAB_BIN and
 * PUNCHLAB_TOOL_DIR. */
static int verb(const struct adapter *a, const char *v, bool with_stderr, char *buf, size_t len, int timeout_ms)
{
	char bin[PATH_MAX + 16], tool[PATH_MAX + 24], b[PATH_MAX];
	char *env[] = { bin, tool, NULL };
	char *argv[] = { (char *)a->program, (char *)v, NULL };

	paths_program_dir(b, sizeof(b));
	snprintf(bin, sizeof(bin), "PUNCHLAB_BIN=%s", b);
	snprintf(tool, sizeof(tool), "PUNCHLAB_TOOL_DIR=%s", a->dir);
	return proc_capture_for(NULL, argv, env, with_stderr ? PROC_ERR_TO_OUT : PROC_ERR_TO_NULL, buf, len, timeout_ms);
}

void adapter_one_line(const char *in, char *out, size_t len)
{
	size_t q = 0;

	if (!len)
		return;
	while (*in == ' ' || *in == '\t' || *in == '\n' || *in == '\r')
		in++;
	for (; *in && q + 1 < len; in++) {
		if (*in == '\r')
			continue;
		if (*in == '\n') {
			while (in[1] == '\n' || in[1] == ' ' || in[1] == '\r')
				in++;
			if (in[1] && q + 3 < len) {
				out[q++] = ';';
				out[q++] = ' ';
			}
			continue;
		}
		/* nothing a terminal would take for a command */
		out[q++] = (unsigned char)*in < 0x20 || *in == 0x7f ? ' ' : *in;
	}
	out[q] = '\0';
	while (q > 0 && (out[q - 1] == ' ' || out[q - 1] == '\t'))
		out[--q] = '\0';
}

bool adapter_available(const struct adapter *a, char *why, size_t len)
{
	char raw[1024], out[1024];
	int code = verb(a, "available", true, raw, sizeof(raw), ADAPTER_AVAILABLE_MS);

	if (code == 0)
		return true;
	adapter_one_line(raw, out, sizeof(out));
	if (code == -ETIMEDOUT)
		snprintf(why, len, "`%s available` did not answer within %d s", a->program, ADAPTER_AVAILABLE_MS / 1000);
	else if (code < 0)
		snprintf(why, len, "cannot run %s: %s", a->program, strerror(-code));
	else
		snprintf(why, len, "%s", out[0] ? out : "its adapter says so, without a reason");
	return false;
}

void adapter_version(const struct adapter *a, char *buf, size_t len)
{
	char out[256];

	buf[0] = '\0';
	if (verb(a, "version", false, out, sizeof(out), ADAPTER_VERB_MS) == 0) {
		out[strcspn(out, "\r\n")] = '\0';
		adapter_one_line(out, buf, len);
	}
}

int adapter_parse_transport(const char *line, bool *tcp)
{
	char word[8], rest[4];
	int n = sscanf(line, "%7s %3s", word, rest);

	if (n != 1 || (strcmp(word, "udp") && strcmp(word, "tcp")))
		return -EINVAL;
	*tcp = !strcmp(word, "tcp");
	return 0;
}

int adapter_transport(const struct adapter *a, bool *tcp, char *err, size_t errlen)
{
	char out[256], said[96];
	int rc = verb(a, "transport", false, out, sizeof(out), ADAPTER_VERB_MS);

	*tcp = false;
	if (rc == 2)
		return 0;   /* no such verb: UDP, as most tools */
	out[strcspn(out, "\r\n")] = '\0';
	if (rc == 0 && !adapter_parse_transport(out, tcp))
		return 0;
	adapter_one_line(out, said, sizeof(said));
	if (rc < 0)
		snprintf(err, errlen, "%s transport: %s", a->program, strerror(-rc));
	else
		snprintf(err, errlen, "%s transport exited %d saying \"%s\" where \"udp\" or \"tcp\" was expected",
			 a->program, rc, said);
	return -EINVAL;
}

int adapter_parse_line(const char *line, bool relay, uint32_t *addr, uint16_t *port, char *err, size_t errlen)
{
	char word[16], ip[64], rest[8], *colon;
	struct in_addr in;
	unsigned long p;
	int n = sscanf(line, "%15s %63s %7s", word, ip, rest);

	if (relay) {
		if (n == 1 && !strcmp(word, "ready"))
			return 0;
		snprintf(err, errlen, "said \"%.80s\" where \"ready\" was expected", line);
		return -EINVAL;
	}
	*port = 0;
	if (n == 2 && !strcmp(word, "tunnel") && inet_pton(AF_INET, ip, &in) == 1 && in.s_addr != 0) {
		*addr = in.s_addr;
		return 0;
	}
	if (n == 2 && !strcmp(word, "udp") && (colon = strrchr(ip, ':')) && text_parse_uint(colon + 1, 1, 65535, &p)) {
		*colon = '\0';
		if (inet_pton(AF_INET, ip, &in) == 1 && in.s_addr != 0) {
			*addr = in.s_addr;
			*port = (uint16_t)p;
			return 0;
		}
	}
	snprintf(err, errlen,
		 "said \"%.80s\" where \"tunnel ADDRESS\" (its IPv4 address inside the tunnel) or \"udp ADDRESS:PORT\" (where "
		 "the tool takes datagrams to carry) was expected",
		 line);
	return -EINVAL;
}

int adapter_parse_path(const char *line, enum path *path, bool *settled)
{
	char word[16], more[16], extra[4];
	int n = sscanf(line, "%15s %15s %3s", word, more, extra);

	*settled = false;
	if (n < 1 || n > 2 || (n == 2 && strcmp(more, "settled")))
		return -EINVAL;
	if (!strcmp(word, "direct"))
		*path = PATH_DIRECT;
	else if (!strcmp(word, "relay"))
		*path = PATH_RELAY;
	else if (!strcmp(word, "unknown"))
		*path = PATH_UNKNOWN;
	else
		return -EINVAL;
	*settled = n == 2;
	return 0;
}
