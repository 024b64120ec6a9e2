#include "text.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

long text_next_line(const char *buf, size_t len, char *line, size_t linelen)
{
	size_t i = 0, n = 0;
	bool too_long = false, nul = false;
	char *hash, *start, *end;

	if (len == 0)
		return 0;
	while (i < len && buf[i] != '\n') {
		if (buf[i] == '\0')
			nul = true;
		if (n + 1 < linelen)
			line[n++] = buf[i];
		else
			too_long = true;
		i++;
	}
	if (i < len)
		i++;
	line[n] = '\0';
	if (too_long || nul)
		return -1;
	if ((hash = strchr(line, '#')))
		*hash = '\0';
	start = line;
	while (*start == ' ' || *start == '\t' || *start == '\r')
		start++;
	end = start + strlen(start);
	while (end > start && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	memmove(line, start, (size_t)(end - start) + 1);
	return (long)i;
}

int text_split(char *s, char **words, int max)
{
	int n = 0;

	for (;;) {
		while (*s == ' ' || *s == '\t')
			*s++ = '\0';
		if (!*s)
			return n;
		if (n == max)
			return -1;
		words[n++] = s;
		while (*s && *s != ' ' && *s != '\t')
			s++;
	}
}

bool text_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (!*s || strlen(s) > 10)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	if (v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool text_parse_ipv4(const char *s, uint32_t *addr_be)
{
	struct in_addr a;

	if (strlen(s) > 15 || inet_pton(AF_INET, s, &a) != 1)
		return false;
	*addr_be = a.s_addr;
	return true;
}

uint32_t text_mask(uint8_t len)
{
	return len == 0 ? 0 : htonl(0xffffffffu << (32 - len));
}

bool text_parse_prefix(const char *s, uint32_t *addr_be, uint8_t *len)
{
	char buf[32];
	const char *slash = strchr(s, '/');
	unsigned long l;

	if (!slash || (size_t)(slash - s) >= sizeof(buf))
		return false;
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = '\0';
	if (!text_parse_ipv4(buf, addr_be) || !text_parse_uint(slash + 1, 0, 32, &l))
		return false;
	*len = (uint8_t)l;
	return (*addr_be & ~text_mask(*len)) == 0;
}

const char *text_ipv4(uint32_t addr_be, char *buf)
{
	struct in_addr a = { addr_be };

	inet_ntop(AF_INET, &a, buf, 16);
	return buf;
}

const char *text_ipv6(const uint8_t addr[16], char *buf)
{
	inet_ntop(AF_INET6, addr, buf, 46);
	return buf;
}

int text_read_file(const char *path, size_t max, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (!f)
		return -errno;
	buf = malloc(max + 1);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(buf, 1, max + 1, f);
	fclose(f);
	if (n > max) {
		free(buf);
		return -EFBIG;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

int text_fail(char *err, size_t errlen, const char *origin, unsigned line, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!origin)
		snprintf(err, errlen, "%s", msg);
	else if (line)
		snprintf(err, errlen, "%s:%u: %s", origin, line, msg);
	else
		snprintf(err, errlen, "%s: %s", origin, msg);
	return -EINVAL;
}

bool text_json_field(const char *json, const char *key, char *out, size_t len)
{
	char pat[64];
	const char *p, *e;

	out[0] = '\0';
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	if (!json || !(p = strstr(json, pat)))
		return false;
	p += strlen(pat);
	if (*p == '"') {
		p++;
		e = strchr(p, '"');
	} else {
		e = p + strcspn(p, ",}");
	}
	if (!e)
		return false;
	snprintf(out, len, "%.*s", (int)(e - p), p);
	return true;
}

void text_json_put(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(out, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(out, "\\u%04x", *s);
		else
			fputc(*s, out);
	}
	fputc('"', out);
}

void text_xml_put(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '<')
			fputs("&lt;", out);
		else if (*s == '>')
			fputs("&gt;", out);
		else if (*s == '&')
			fputs("&amp;", out);
		else if (*s == '"')
			fputs("&quot;", out);
		else if (*s == '\'')
			fputs("&#39;", out);
		else if ((unsigned char)*s >= 0x20)
			fputc(*s, out);
	}
}

int text_close_written(FILE *f)
{
	if (ferror(f)) {
		fclose(f);
		return -EIO;
	}
	return fclose(f) ? -errno : 0;
}
