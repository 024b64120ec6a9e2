/* WireGuard keys as wireguard-tools writes them: 32 bytes, 44 characters
 * of base64 (`wg genkey`, `wg pubkey`). Shared by the mesh (its keys are
 * its WireGuard keys) and the harness (adapters make keys for tools). */
#ifndef PL_KEY_H
#define PL_KEY_H

#include <stddef.h>
#include <stdint.h>

#define KEY_LEN 32
#define KEY_B64_LEN 45   /* with its NUL */

/* -EINVAL unless b64 is exactly a 32-byte key. */
int key_parse(const char *b64, uint8_t key[static KEY_LEN]);
void key_format(const uint8_t key[static KEY_LEN], char out[static KEY_B64_LEN]);
/* Read a key file (one base64 key, whitespace around it allowed); err
 * says what is wrong with it. */
int key_read(const char *path, uint8_t key[static KEY_LEN], char *err, size_t errlen);
/* The public key of a private key. */
void key_public(uint8_t pub[static KEY_LEN], const uint8_t priv[static KEY_LEN]);
/* A new private key, as `wg genkey` makes it. The caller wipes it. */
void key_generate(uint8_t priv[static KEY_LEN]);
/* A new key pair: the private key written to path (mode 0600, one line,
 * as `wg genkey > path`), the public key into pub. 0 or -errno. */
int key_new_file(const char *path, char pub[static KEY_B64_LEN]);

#endif
