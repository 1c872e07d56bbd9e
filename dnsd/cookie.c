/* dnsd/cookie.c — DNS Cookies (see cookie.h). */
#include "config.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/sockaddr.h"
#include "common/xalloc.h"
#include "dnsd/cookie.h"

#define COOKIE_VERSION 1
#define COOKIE_HASH_LEN 8
/* RFC 9018 §4.3: good from an hour old to five minutes ahead; renewed past half an hour */
#define COOKIE_MAX_AGE_S 3600
#define COOKIE_MAX_AHEAD_S 300
#define COOKIE_RENEW_AGE_S 1800

struct cookie_mac {
    EVP_MAC *mac;
    EVP_MAC_CTX *ctx;
    uint8_t secret[COOKIE_SECRET_LEN];
};

int cookie_mac_new(const uint8_t secret[COOKIE_SECRET_LEN], struct cookie_mac **out, char *msg,
                   size_t msglen)
{
    struct cookie_mac *m = xcalloc(1, sizeof *m);
    size_t hash_len = COOKIE_HASH_LEN;
    OSSL_PARAM params[] = {OSSL_PARAM_size_t(OSSL_MAC_PARAM_SIZE, &hash_len), OSSL_PARAM_END};
    int rc = GTM_EINVAL;
    memcpy(m->secret, secret, COOKIE_SECRET_LEN);
    /* the output size is set once: each query's EVP_MAC_init() then only sets the key */
    if (!(m->mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL)) || !(m->ctx = EVP_MAC_CTX_new(m->mac)) ||
        !EVP_MAC_init(m->ctx, m->secret, COOKIE_SECRET_LEN, params)) {
        snprintf(msg, msglen, "DNS cookies: OpenSSL offers no SipHash-2-4");
        goto out;
    }
    *out = m;
    m = NULL;
    rc = 0;
out:
    cookie_mac_free(m);
    return rc;
}

void cookie_mac_free(struct cookie_mac *m)
{
    if (!m)
        return;
    EVP_MAC_CTX_free(m->ctx);
    EVP_MAC_free(m->mac);
    free(m);
}

/* Server cookie sc's hash (its first 8 bytes written) of client cookie cc from peer. */
static bool hash(struct cookie_mac *m, const uint8_t *cc, const uint8_t *sc,
                 const struct sockaddr *peer, uint8_t out[COOKIE_HASH_LEN])
{
    uint8_t in[COOKIE_CLIENT_LEN + 8 + 16];
    const uint8_t *addr;
    size_t addr_len = sockaddr_ip(peer, &addr), out_len = 0;
    memcpy(in, cc, COOKIE_CLIENT_LEN);
    memcpy(in + COOKIE_CLIENT_LEN, sc, 8);
    memcpy(in + COOKIE_CLIENT_LEN + 8, addr, addr_len);
    return EVP_MAC_init(m->ctx, m->secret, COOKIE_SECRET_LEN, NULL) &&
           EVP_MAC_update(m->ctx, in, COOKIE_CLIENT_LEN + 8 + addr_len) &&
           EVP_MAC_final(m->ctx, out, &out_len, COOKIE_HASH_LEN) && out_len == COOKIE_HASH_LEN;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

bool cookie_reply(struct cookie_mac *m, const uint8_t *in, size_t len, const struct sockaddr *peer,
                  uint32_t now_s, uint8_t out[COOKIE_REPLY_LEN])
{
    const uint8_t *sc = in + COOKIE_CLIENT_LEN;
    uint8_t *mine = out + COOKIE_CLIENT_LEN, expect[COOKIE_HASH_LEN];
    bool good = false;
    memcpy(out, in, COOKIE_CLIENT_LEN);
    /* the reserved bytes are hashed as received: another server may use them (RFC 9018
     * §4.2, Appendix A.3) */
    if (len == COOKIE_REPLY_LEN && sc[0] == COOKIE_VERSION) {
        /* RFC 1982 arithmetic: the age may be negative, and wraps in 2106 */
        int32_t age = (int32_t)(now_s - get32(sc + 4));
        good = age <= COOKIE_MAX_AGE_S && age >= -COOKIE_MAX_AHEAD_S &&
               hash(m, in, sc, peer, expect) && memcmp(expect, sc + 8, COOKIE_HASH_LEN) == 0;
        if (good && age < COOKIE_RENEW_AGE_S) {
            memcpy(mine, sc, COOKIE_SERVER_LEN);
            return true;
        }
    }
    mine[0] = COOKIE_VERSION;
    mine[1] = mine[2] = mine[3] = 0;
    mine[4] = (uint8_t)(now_s >> 24);
    mine[5] = (uint8_t)(now_s >> 16);
    mine[6] = (uint8_t)(now_s >> 8);
    mine[7] = (uint8_t)now_s;
    if (!hash(m, in, mine, peer, mine + 8))
        memset(mine + 8, 0, COOKIE_HASH_LEN); /* cannot happen once the MAC was made */
    return good;
}
