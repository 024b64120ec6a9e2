#include "key.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int key_parse(const char *b64, uint8_t key[static KEY_LEN])
{
	size_t n = 0;
	uint8_t tmp[KEY_LEN + 4];

	if (strlen(b64) != 44 ||
	    sodium_base642bin(tmp, sizeof(tmp), b64, 44, NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL) ||
	    n != KEY_LEN)
		return -EINVAL;
	memcpy(key, tmp, KEY_LEN);
	sodium_memzero(tmp, sizeof(tmp));
	return 0;
}

void key_format(const uint8_t key[static KEY_LEN], char out[static 45])
{
	sodium_bin2base64(out, 45, key, KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
}

int key_read(const char *path, uint8_t key[static KEY_LEN], char *err, size_t errlen)
{
	char buf[128], *p, *e;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = 0;
	ssize_t n;

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -EIO;
	}
	buf[n] = '\0';
	for (p = buf; *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'; p++)
		;
	for (e = p + strlen(p); e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'); e--)
		;
	*e = '\0';
	if (key_parse(p, key)) {
		snprintf(err, errlen, "%s: not a WireGuard key (44 characters of base64, as `wg genkey` writes)", path);
		ret = -EINVAL;
	}
	sodium_memzero(buf, sizeof(buf));
	return ret;
}

void key_public(uint8_t pub[static KEY_LEN], const uint8_t priv[static KEY_LEN])
{
	crypto_scalarmult_base(pub, priv);
}

void key_generate(uint8_t priv[static KEY_LEN])
{
	/* As `wg genkey`: a random Curve25519 scalar, clamped. */
	randombytes_buf(priv, KEY_LEN);
	priv[0] &= 248;
	priv[31] = (priv[31] & 127) | 64;
}

int key_new_file(const char *path, char pub[static KEY_B64_LEN])
{
	uint8_t priv[KEY_LEN], p[KEY_LEN];
	char line[KEY_B64_LEN + 1];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), ret = 0;

	if (fd < 0)
		return -errno;
	key_generate(priv);
	key_format(priv, line);
	strcat(line, "\n");
	key_public(p, priv);
	key_format(p, pub);
	if (write(fd, line, strlen(line)) != (ssize_t)strlen(line))
		ret = -EIO;
	if (close(fd) && !ret)
		ret = -errno;
	sodium_memzero(priv, sizeof(priv));
	sodium_memzero(line, sizeof(line));
	return ret;
}
