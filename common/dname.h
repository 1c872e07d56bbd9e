/* common/dname.h — domain names in the two forms gtm keeps them in.
 *   wire: RFC 1035 §3.1 labels, uncompressed, ending with the root label; <= 255 bytes.
 *   key:  the store's text form: lower-case, absolute (ends in '.'), every byte other
 *         than [a-z0-9_*-] written as \DDD. One name has exactly one key, an unescaped
 *         '.' always separates labels (so "is X inside zone Z" is a suffix test the
 *         store's triggers can do), and a key is valid presentation format.
 * Used by gtmctl (writing keys) and gtm-dnsd (compiling keys into wire form), never on
 * the query path. Pure functions; any thread. */
#ifndef GTM_COMMON_DNAME_H
#define GTM_COMMON_DNAME_H

#include <stddef.h>
#include <stdint.h>

#define DNAME_WIRE_MAX 255
/* A key needs at most 4 characters per wire byte, plus the terminating NUL. */
#define DNAME_KEY_MAX (4 * DNAME_WIRE_MAX + 1)

/* Writes the key of the wire name (len bytes, trusted to be well formed) into key
 * (keylen bytes). Returns 0, GTM_EPARSE for a malformed name, -ENOSPC if too small. */
int dname_key_from_wire(const uint8_t *wire, size_t len, char *key, size_t keylen);

/* Parses an absolute presentation-format name (a key, or any text with \X and \DDD
 * escapes ending in '.') into wire form, keeping case. wire must hold DNAME_WIRE_MAX
 * bytes; *len gets the length. Returns 0 or GTM_EPARSE. */
int dname_wire_from_key(const char *key, uint8_t *wire, size_t *len);

/* Lower-cases the ASCII letters of a wire name in place. */
void dname_lower(uint8_t *wire);

/* Length in bytes of a well-formed wire name, root label included. */
size_t dname_wire_len(const uint8_t *wire);

/* RFC 4034 §6.1 canonical order of two well-formed wire names (case-insensitive):
 * negative, 0 or positive as a sorts before, equal to, or after b. */
int dname_canon_cmp(const uint8_t *a, const uint8_t *b);

#endif
