/* Small helpers for line-oriented text formats (models, topologies). */
#ifndef PL_TEXT_H
#define PL_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Copy the next line of buf (up to '\n') into line, strip a '#' comment and
 * surrounding blanks. Returns bytes consumed, 0 at the end, -1 if the line is
 * longer than linelen-1 or holds a NUL byte. */
long text_next_line(const char *buf, size_t len, char *line, size_t linelen);
/* Split s in place into at most max blank-separated words. Returns the count,
 * or -1 if there are more than max. */
int text_split(char *s, char **words, int max);
/* Parse a decimal unsigned in [min,max]; the whole string must be the number. */
bool text_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out);
/* Parse dotted IPv4 into network byte order. */
bool text_parse_ipv4(const char *s, uint32_t *addr_be);
/* Parse A.B.C.D/N; rejects host bits set. */
bool text_parse_prefix(const char *s, uint32_t *addr_be, uint8_t *len);
/* Format an address (network order) into buf of at least 16 bytes. */
const char *text_ipv4(uint32_t addr_be, char *buf);
/* addr as text into buf (46 bytes: INET6_ADDRSTRLEN). */
const char *text_ipv6(const uint8_t addr[16], char *buf);
/* Netmask in network order for a prefix length. */
uint32_t text_mask(uint8_t len);
/* Write "origin:line: message" (or "origin: message" when line is 0, or
 * the message alone when origin is NULL) into err and return -EINVAL: how
 * parsers refuse input. */
int text_fail(char *err, size_t errlen, const char *origin, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* The value after the first "key": in json (our own JSON: a string up to
 * its closing quote, else up to the next ',' or '}') into out; false if
 * the key is not there. */
bool text_json_field(const char *json, const char *key, char *out, size_t len);
/* Write s to out as a JSON string, quotes included. */
void text_json_put(FILE *out, const char *s);
/* Write s to out with <, >, & and " escaped for HTML and XML. */
void text_xml_put(FILE *out, const char *s);
/* Read a whole file (at most max bytes); caller frees *out. */
int text_read_file(const char *path, size_t max, char **out, size_t *len);
/* Close a file that was written: 0, or -EIO when any write failed (a
 * flush that failed earlier, say on a full disk, fclose does not report
 * again), or -errno from fclose. */
int text_close_written(FILE *f);

#endif
