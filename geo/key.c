/* geo/key.c — keys of the geo map and the latency table ('*', continent, country,
 * country-subdivision, CIDR), and which entry decides for a client. Used when a
 * classifier is built and by gtmctl; not per query. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "geo/geo.h"

static const char *const kind_names[] = {"default", "continent", "country", "subdivision", "cidr"};

const char *geo_key_kind_name(enum geo_key_kind kind)
{
    return kind_names[kind];
}

static bool all_alpha(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isalpha((unsigned char)s[i]))
            return false;
    return true;
}

static bool is_continent(const char *c)
{
    static const char *const continents[] = {"AF", "AN", "AS", "EU", "NA", "OC", "SA"};
    for (size_t i = 0; i < sizeof continents / sizeof continents[0]; i++)
        if (strcmp(c, continents[i]) == 0)
            return true;
    return false;
}

static int parse_cidr(const char *text, struct geo_key *key)
{
    char host[64];
    const char *slash = strchr(text, '/');
    char *end = NULL;
    if (!slash || (size_t)(slash - text) >= sizeof host)
        return GTM_EPARSE;
    snprintf(host, sizeof host, "%.*s", (int)(slash - text), text);
    long prefix = strtol(slash + 1, &end, 10);
    if (!isdigit((unsigned char)slash[1]) || *end)
        return GTM_EPARSE;
    memset(key->addr, 0, sizeof key->addr);
    if (inet_pton(AF_INET, host, key->addr) == 1)
        key->family = 4;
    else if (inet_pton(AF_INET6, host, key->addr) == 1)
        key->family = 6;
    else
        return GTM_EPARSE;
    if (prefix < 0 || prefix > (key->family == 4 ? 32 : 128))
        return GTM_EPARSE;
    key->prefix = (int)prefix;
    /* no host bits: 192.0.2.1/24 is a typing mistake, not a network */
    for (int bit = key->prefix; bit < (key->family == 4 ? 32 : 128); bit++)
        if (key->addr[bit / 8] & (0x80 >> (bit % 8)))
            return GTM_EPARSE;
    key->kind = GEO_KEY_CIDR;
    return 0;
}

int geo_key_parse(const char *text, struct geo_key *key)
{
    size_t n = strlen(text);
    memset(key, 0, sizeof *key);
    if (strcmp(text, "*") == 0) {
        key->kind = GEO_KEY_DEFAULT;
        return 0;
    }
    if (strchr(text, '/'))
        return parse_cidr(text, key);
    for (size_t i = 0; i < n && i < sizeof key->code - 1; i++)
        key->code[i] = (char)toupper((unsigned char)text[i]);
    if (n == 2 && all_alpha(text, 2)) {
        key->kind = is_continent(key->code) ? GEO_KEY_CONTINENT : GEO_KEY_COUNTRY;
        if (key->kind == GEO_KEY_COUNTRY && !geo_continent_of(key->code))
            return GTM_EPARSE;
        return 0;
    }
    /* ISO 3166-2: country, '-', one to three letters or digits */
    char country[3] = {key->code[0], key->code[1], '\0'};
    if (n >= 4 && n <= 6 && text[2] == '-' && all_alpha(text, 2) && geo_continent_of(country)) {
        for (size_t i = 3; i < n; i++)
            if (!isalnum((unsigned char)text[i]))
                return GTM_EPARSE;
        key->kind = GEO_KEY_SUBDIVISION;
        return 0;
    }
    return GTM_EPARSE;
}

void geo_key_format(const struct geo_key *key, char *out, size_t outlen)
{
    char host[INET6_ADDRSTRLEN];
    switch (key->kind) {
    case GEO_KEY_DEFAULT: snprintf(out, outlen, "*"); break;
    case GEO_KEY_CIDR:
        inet_ntop(key->family == 4 ? AF_INET : AF_INET6, key->addr, host, sizeof host);
        snprintf(out, outlen, "%s/%d", host, key->prefix);
        break;
    default: snprintf(out, outlen, "%s", key->code); break;
    }
}

/* Does the CIDR key cover addr? */
static bool cidr_covers(const struct geo_key *k, int family, const uint8_t *addr)
{
    if (k->family != family)
        return false;
    int full = k->prefix / 8, rest = k->prefix % 8;
    if (memcmp(k->addr, addr, (size_t)full) != 0)
        return false;
    return rest == 0 || ((k->addr[full] ^ addr[full]) & (0xFF00 >> rest)) == 0;
}

int geo_key_score(const struct geo_key *k, const struct geo_loc *loc, int family,
                  const uint8_t *addr)
{
    switch (k->kind) {
    case GEO_KEY_CIDR: return addr && cidr_covers(k, family, addr) ? 4 * 256 + k->prefix : -1;
    case GEO_KEY_SUBDIVISION:
        return loc && loc->subdivision[0] && strncmp(k->code, loc->country, 2) == 0 &&
                       strcmp(k->code + 3, loc->subdivision) == 0
                   ? 3 * 256
                   : -1;
    case GEO_KEY_COUNTRY: return loc && strcmp(k->code, loc->country) == 0 ? 2 * 256 : -1;
    case GEO_KEY_CONTINENT: return loc && strcmp(k->code, loc->continent) == 0 ? 256 : -1;
    case GEO_KEY_DEFAULT: return 0;
    }
    return -1;
}

int geo_map_match(const struct geo_inputs *in, const struct geo_loc *loc, int family,
                  const uint8_t *addr)
{
    int best = -1, best_score = -1;
    for (size_t i = 0; i < in->nmap; i++) {
        int score = geo_key_score(&in->map[i].key, loc, family, addr);
        if (score > best_score) {
            best_score = score;
            best = (int)i;
        }
    }
    return best;
}
