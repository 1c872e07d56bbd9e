/* geo/ecs.c — the EDNS Client Subnet option (RFC 7871): reading a query's option and
 * writing the response's. On the query path: no allocation, bounds-checked. */
#include "config.h"

#include <string.h>

#include "common/err.h"
#include "geo/geo.h"

#define ECS_FAMILY_V4 1 /* IANA address family numbers */
#define ECS_FAMILY_V6 2

/* Zeroes the bits of addr (len bytes) past bits. */
static void mask_bits(uint8_t *addr, size_t len, unsigned bits)
{
    size_t full = bits / 8;
    if (full >= len)
        return;
    addr[full] &= (uint8_t)(0xFF00u >> (bits % 8));
    memset(addr + full + 1, 0, len - full - 1);
}

int geo_ecs_parse(const uint8_t *data, size_t len, struct geo_client *c)
{
    if (len < 4)
        return GTM_EPARSE;
    unsigned family = (unsigned)data[0] << 8 | data[1];
    unsigned source = data[2], scope = data[3];
    size_t alen = len - 4, max_bits;
    if (family == ECS_FAMILY_V4)
        max_bits = 32;
    else if (family == ECS_FAMILY_V6)
        max_bits = 128;
    else
        return GTM_EPARSE;
    /* §6: ADDRESS holds exactly the octets SOURCE PREFIX-LENGTH needs, bits past it are
     * zero, and SCOPE PREFIX-LENGTH is 0 in queries */
    if (source > max_bits || alen != (source + 7) / 8 || scope != 0)
        return GTM_EPARSE;
    if (alen && source % 8 && (data[4 + alen - 1] & (0xFF >> (source % 8))))
        return GTM_EPARSE;
    memset(c, 0, sizeof *c);
    c->family = family == ECS_FAMILY_V4 ? 4 : 6;
    memcpy(c->addr, data + 4, alen);
    memcpy(c->addr_sent, data + 4, alen);
    c->from_ecs = true;
    c->source_prefix = (uint8_t)source;
    unsigned cap = c->family == 4 ? GEO_V4_BITS_MAX : GEO_V6_BITS_MAX;
    c->bits = (uint8_t)(source < cap ? source : cap);
    mask_bits(c->addr, sizeof c->addr, c->bits);
    return 0;
}

void geo_client_from_addr(struct geo_client *c, int family, const uint8_t *addr)
{
    memset(c, 0, sizeof *c);
    c->family = family;
    memcpy(c->addr, addr, family == 4 ? 4 : 16);
    c->bits = family == 4 ? GEO_V4_BITS_MAX : GEO_V6_BITS_MAX;
    mask_bits(c->addr, sizeof c->addr, c->bits);
}

size_t geo_ecs_write(const struct geo_client *c, uint8_t scope, uint8_t *out)
{
    size_t alen = ((size_t)c->source_prefix + 7) / 8;
    out[0] = 0;
    out[1] = c->family == 4 ? ECS_FAMILY_V4 : ECS_FAMILY_V6;
    out[2] = c->source_prefix;
    out[3] = scope;
    /* the query's address, as it was sent (we may have used fewer of its bits) */
    memcpy(out + 4, c->addr_sent, alen);
    return 4 + alen;
}
