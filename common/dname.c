/* common/dname.c — conversions between wire names and the store's key text, and the
 * canonical name order. Off the query path; allocates nothing. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "common/dname.h"
#include "common/err.h"

/* RFC 1035 §2.3.4: 63-byte labels, 255-byte names. */
#define LABEL_MAX 63
#define LABELS_MAX 128

static int is_plain(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '*';
}

static uint8_t lower(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

int dname_key_from_wire(const uint8_t *wire, size_t len, char *key, size_t keylen)
{
    size_t in = 0, out = 0;
    if (keylen < 2)
        return -ENOSPC;
    if (len == 1 && wire[0] == 0) {
        key[0] = '.';
        key[1] = '\0';
        return 0;
    }
    while (in < len && wire[in] != 0) {
        size_t lab = wire[in++];
        if (lab > LABEL_MAX || in + lab >= len)
            return GTM_EPARSE;
        for (size_t i = 0; i < lab; i++) {
            uint8_t c = lower(wire[in + i]);
            if (out + 5 >= keylen)
                return -ENOSPC;
            if (is_plain(c)) {
                key[out++] = (char)c;
            } else {
                key[out++] = '\\';
                key[out++] = (char)('0' + c / 100);
                key[out++] = (char)('0' + c / 10 % 10);
                key[out++] = (char)('0' + c % 10);
            }
        }
        in += lab;
        key[out++] = '.';
    }
    if (in + 1 != len)
        return GTM_EPARSE;
    key[out] = '\0';
    return 0;
}

int dname_wire_from_key(const char *key, uint8_t *wire, size_t *len)
{
    size_t out = 0;
    const char *p = key;
    if (strcmp(key, ".") == 0) {
        wire[0] = 0;
        *len = 1;
        return 0;
    }
    while (*p) {
        size_t lab_at = out++;
        size_t lab = 0;
        if (*p == '.')
            return GTM_EPARSE; /* empty label */
        while (*p && *p != '.') {
            uint8_t c;
            if (*p == '\\') {
                p++;
                if (p[0] >= '0' && p[0] <= '9') {
                    if (!(p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9'))
                        return GTM_EPARSE;
                    int v = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
                    if (v > 255)
                        return GTM_EPARSE;
                    c = (uint8_t)v;
                    p += 3;
                } else if (*p) {
                    c = (uint8_t)*p++;
                } else {
                    return GTM_EPARSE;
                }
            } else {
                c = (uint8_t)*p++;
            }
            if (++lab > LABEL_MAX || out >= DNAME_WIRE_MAX - 1)
                return GTM_EPARSE;
            wire[out++] = c;
        }
        wire[lab_at] = (uint8_t)lab;
        if (*p != '.')
            return GTM_EPARSE; /* not absolute */
        p++;
    }
    wire[out++] = 0;
    *len = out;
    return 0;
}

void dname_lower(uint8_t *wire)
{
    while (*wire) {
        uint8_t lab = *wire++;
        for (uint8_t i = 0; i < lab; i++)
            wire[i] = lower(wire[i]);
        wire += lab;
    }
}

size_t dname_wire_len(const uint8_t *wire)
{
    const uint8_t *p = wire;
    while (*p)
        p += *p + 1;
    return (size_t)(p - wire) + 1;
}

/* Fills labels[] with a pointer to each label of w, leftmost first; returns the count. */
static int label_ptrs(const uint8_t *w, const uint8_t **labels)
{
    int n = 0;
    while (*w && n < LABELS_MAX) {
        labels[n++] = w;
        w += *w + 1;
    }
    return n;
}

int dname_canon_cmp(const uint8_t *a, const uint8_t *b)
{
    const uint8_t *la[LABELS_MAX], *lb[LABELS_MAX];
    int na = label_ptrs(a, la), nb = label_ptrs(b, lb);
    for (int i = na - 1, j = nb - 1; i >= 0 && j >= 0; i--, j--) {
        const uint8_t *x = la[i], *y = lb[j];
        size_t n = x[0] < y[0] ? x[0] : y[0];
        for (size_t k = 1; k <= n; k++) {
            int d = (int)lower(x[k]) - (int)lower(y[k]);
            if (d)
                return d;
        }
        if (x[0] != y[0])
            return (int)x[0] - (int)y[0];
    }
    return na - nb;
}
