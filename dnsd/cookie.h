/* dnsd/cookie.h — DNS Cookies (RFC 7873) with the interoperable server cookie of RFC 9018,
 * the algorithm Knot, NSD and BIND use too (Knot takes ours and we take Knot's:
 * tests/system/test_dnsd_cookies.py): version 1, three reserved bytes, a
 * timestamp, and SipHash-2-4 (OpenSSL's) of the client cookie, those 8 bytes and the
 * client's address, keyed with a 16-byte secret. A server cookie is good from one hour
 * before now to five minutes after; one over half an hour old is renewed (RFC 9018
 * §4.3). gtm-dnsd never requires cookies (no BADCOOKIE): a good one exempts the client
 * from rate limiting, as its address is then known not to be forged (RFC 7873 §5.4).
 * Each worker has its own struct cookie_mac: no allocation, no lock per query. */
#ifndef GTM_DNSD_COOKIE_H
#define GTM_DNSD_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define COOKIE_CLIENT_LEN 8
#define COOKIE_SERVER_LEN 16 /* ours; a received one is 8 to 32 bytes (RFC 7873 §4.2) */
#define COOKIE_SERVER_MIN 8
#define COOKIE_SERVER_MAX 32
#define COOKIE_SECRET_LEN 16
/* The option's data in a response: the client cookie and ours. */
#define COOKIE_REPLY_LEN (COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN)

struct cookie_mac;

/* A MAC keyed with secret, for one thread. Returns 0, or GTM_EINVAL (with msg) when
 * OpenSSL offers no SipHash. */
int cookie_mac_new(const uint8_t secret[COOKIE_SECRET_LEN], struct cookie_mac **out, char *msg,
                   size_t msglen);
void cookie_mac_free(struct cookie_mac *m);

/* Is len a valid length for a COOKIE option's data (RFC 7873 §5.2.2: else FORMERR)? */
static inline bool cookie_len_ok(size_t len)
{
    return len == COOKIE_CLIENT_LEN || (len >= COOKIE_CLIENT_LEN + COOKIE_SERVER_MIN &&
                                        len <= COOKIE_CLIENT_LEN + COOKIE_SERVER_MAX);
}

/* The reply to the COOKIE option data in (len bytes, cookie_len_ok) from peer at now_s
 * (Unix time), into out: the client cookie, then the received server cookie when it is
 * ours, good and young, else a new one. Returns whether the received one was good. */
bool cookie_reply(struct cookie_mac *m, const uint8_t *in, size_t len, const struct sockaddr *peer,
                  uint32_t now_s, uint8_t out[COOKIE_REPLY_LEN]);

#endif
