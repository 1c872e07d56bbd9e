/* tests/fuzz/fuzz_query.c — libFuzzer harness for gtm-dnsd's query path: each input is
 * one DNS message, answered by query_answer() as UDP under three response caps (512,
 * 1232, 4096 bytes) and as TCP, over a snapshot compiled once at start-up from a store
 * that tests/fuzz/make-store.sh builds with the real gtmctl; then once more as UDP with
 * rate limiting, which may only drop the response or slip it (TC, no records). Every
 * response must fit its cap, parse with ldns, have header counts that describe its bytes
 * and only backward compression pointers, echo the query's ID and question, carry an OPT
 * record when the query did, and agree with the TCP answer unless truncated. Anything
 * else aborts, which libFuzzer reports as a crash. Built by tests/fuzz/build.sh (see
 * README.md there); not part of make check. */
#include "config.h"

#include <arpa/inet.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "common/log.h"
#include "dnsd/answer.h"
#include "dnsd/loader.h"
#include "dnsd/query.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The decisions' random numbers restart from here for every answer, so that the UDP
 * and TCP answers of one input agree and a crash replays exactly. */
#define FUZZ_RNG_SEED 0x9E3779B97F4A7C15ULL

enum { CFG_UDP512, CFG_UDP1232, CFG_UDP4096, NCFGS };

static struct loader loader;
static struct snap *snap;
static struct dnsd_cfg cfgs[NCFGS];
static struct query_ctx q;
static struct rrl *rrl;
static uint8_t resp[NCFGS][DNS_MSG_MAX], tcp_resp[DNS_MSG_MAX], rrl_resp[DNS_MSG_MAX];
static char workdir[] = "/tmp/gtm-fuzz-XXXXXX";
static bool verbose;

/* Clients: the query ID picks one (the GeoIP file places the 127.0.x.0/24 ones). */
static struct sockaddr_storage peers[6];
static const char *const peer_text[] = {"127.0.1.1",        "127.0.3.1", "127.0.7.1",
                                        "::ffff:127.0.4.1", "::1",       "2001:db8:5::1"};

static void fail(const char *what, const uint8_t *wire, size_t len)
{
    fprintf(stderr, "fuzz_query: %s (response of %zu bytes)\n", what, len);
    ldns_pkt *p = NULL;
    if (wire && ldns_wire2pkt(&p, wire, len) == LDNS_STATUS_OK)
        ldns_pkt_print(stderr, p);
    ldns_pkt_free(p);
    abort();
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void cleanup(void)
{
    loader_fini(&loader);
    snap_free(snap);
    rrl_free(rrl);
    cookie_mac_free(q.cookie);
    nftw(workdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char cmd[4096], msg[512];
    (void)argc, (void)argv;
    verbose = getenv("FUZZ_QUERY_VERBOSE") != NULL;
    log_level_set(verbose ? LOG_LEVEL_INFO : LOG_LEVEL_WARN);
    if (!mkdtemp(workdir)) {
        perror("fuzz_query: mkdtemp");
        exit(1);
    }
    snprintf(cmd, sizeof cmd, "sh '%s/tests/fuzz/make-store.sh' '%s' '%s' '%s'", GTM_FUZZ_SRCDIR,
             GTM_FUZZ_GTMCTL, GTM_FUZZ_SRCDIR, workdir);
    if (system(cmd) != 0) {
        fprintf(stderr, "fuzz_query: %s failed\n", cmd);
        exit(1);
    }
    static char db[sizeof workdir + 16], mmdb[sizeof workdir + 16];
    static const char *geoip[1] = {mmdb};
    snprintf(db, sizeof db, "%s/gtm.db", workdir);
    snprintf(mmdb, sizeof mmdb, "%s/geo.mmdb", workdir);
    if (loader_init(&loader, db, 1000, geoip, 1, &snap, msg, sizeof msg) != 0) {
        fprintf(stderr, "fuzz_query: cannot load %s: %s\n", db, msg);
        exit(1);
    }
    atexit(cleanup);

    /* 512: the longest NSID; 1232: a short one; 4096: none. The CH answers agree across
     * them (the longest identity, no version: REFUSED), as the UDP/TCP check wants. */
    static const char long_id[] = "iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii"
                                  "iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii"
                                  "iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii"
                                  "iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii";
    cfgs[CFG_UDP512].edns_size = 512;
    cfgs[CFG_UDP512].nsid_len = DNSD_NSID_MAX;
    memset(cfgs[CFG_UDP512].nsid_bytes, 'n', DNSD_NSID_MAX);
    cfgs[CFG_UDP1232].edns_size = 1232;
    cfgs[CFG_UDP1232].nsid_len = 5;
    memcpy(cfgs[CFG_UDP1232].nsid_bytes, "fuzz1", 5);
    cfgs[CFG_UDP4096].edns_size = 4096;
    for (int c = 0; c < NCFGS; c++)
        cfgs[c].identity = (char *)long_id;

    /* 2 responses a second per kind and network, every other one past that slipped */
    rrl = rrl_new(2, 2, 24, 56);

    /* DNS cookies: a fixed key and time, so the responses to one input do not vary */
    static const uint8_t cookie_key[COOKIE_SECRET_LEN] = "fuzz cookie key";
    if (cookie_mac_new(cookie_key, &q.cookie, msg, sizeof msg) != 0) {
        fprintf(stderr, "fuzz_query: %s\n", msg);
        exit(1);
    }
    q.unix_s = 1700000000;

    for (size_t i = 0; i < sizeof peers / sizeof peers[0]; i++) {
        struct sockaddr_in *v4 = (struct sockaddr_in *)&peers[i];
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&peers[i];
        if (inet_pton(AF_INET, peer_text[i], &v4->sin_addr) == 1) {
            v4->sin_family = AF_INET;
        } else if (inet_pton(AF_INET6, peer_text[i], &v6->sin6_addr) == 1) {
            v6->sin6_family = AF_INET6;
        } else {
            fprintf(stderr, "fuzz_query: bad peer %s\n", peer_text[i]);
            exit(1);
        }
    }
    return 0;
}

static size_t answer(const struct dnsd_cfg *cfg, const uint8_t *data, size_t size,
                     const struct sockaddr *peer, uint8_t *out, size_t cap, bool tcp)
{
    q.cfg = cfg;
    q.pol.rng = FUZZ_RNG_SEED;
    size_t len = query_answer(&q, snap, data, size, peer, out, cap, tcp);
    if (len > cap)
        fail("response longer than its buffer", NULL, len);
    return len;
}

/* The question as the query sent it: 12 + name + type + class bytes, or 0. */
static size_t question_end(const uint8_t *data, size_t size)
{
    size_t pos = DNS_HEADER_LEN;
    while (pos < size && data[pos] != 0 && data[pos] <= 63)
        pos += data[pos] + 1u;
    if (pos >= size || data[pos] != 0)
        return 0;
    return pos + 5 <= size ? pos + 5 : 0;
}

/* Skips a name at *pos of a response: labels, then the end or a pointer to an earlier
 * offset (a pointer never leads forward, RFC 1035 §4.1.4). Returns 0 or -1. */
static int skip_name(const uint8_t *m, size_t len, size_t *pos)
{
    size_t start = *pos, p = *pos;
    for (;;) {
        if (p >= len)
            return -1;
        if ((m[p] & 0xC0) == 0xC0) {
            if (p + 2 > len || ((size_t)(m[p] & 0x3F) << 8 | m[p + 1]) >= start)
                return -1;
            *pos = p + 2;
            return 0;
        }
        if (m[p] > 63)
            return -1;
        if (m[p] == 0) {
            *pos = p + 1;
            return 0;
        }
        p += m[p] + 1u;
    }
}

/* Whether the header's counts describe exactly the response's bytes. */
static bool counts_match(const uint8_t *m, size_t len)
{
    size_t pos = DNS_HEADER_LEN;
    unsigned qd = m[4] << 8 | m[5];
    unsigned rrs = (m[6] << 8 | m[7]) + (m[8] << 8 | m[9]) + (m[10] << 8 | m[11]);
    for (unsigned i = 0; i < qd; i++) {
        if (skip_name(m, len, &pos) || pos + 4 > len)
            return false;
        pos += 4;
    }
    for (unsigned i = 0; i < rrs; i++) {
        if (skip_name(m, len, &pos) || pos + 10 > len)
            return false;
        pos += 10 + (m[pos + 8] << 8 | m[pos + 9]);
        if (pos > len)
            return false;
    }
    return pos == len;
}

/* Checks one response; returns it parsed (caller frees), or NULL when there is none. */
static ldns_pkt *check(const uint8_t *data, size_t size, const uint8_t *out, size_t len, size_t cap,
                       bool tcp)
{
    ldns_pkt *p = NULL;
    if (len == 0)
        return NULL;
    if (len < DNS_HEADER_LEN || ldns_wire2pkt(&p, out, len) != LDNS_STATUS_OK)
        fail("ldns cannot parse the response", NULL, len);
    if (!counts_match(out, len))
        fail("the header's counts do not describe the response", out, len);
    if (memcmp(out, data, 2) != 0 || !(out[2] & 0x80))
        fail("response without the query's ID or QR", out, len);
    if (ldns_pkt_qdcount(p) > 1)
        fail("more than one question in the response", out, len);
    size_t qend = question_end(data, size);
    if (ldns_pkt_qdcount(p) == 1 && (qend == 0 || memcmp(out + 12, data + 12, qend - 12) != 0))
        fail("the question is not the query's", out, len);
    if (tcp && ldns_pkt_tc(p))
        fail("TC set over TCP", out, len);
    if (!tcp && !ldns_pkt_edns(p) && len > DNS_UDP_CLASSIC)
        fail("UDP response over 512 bytes without EDNS", out, len);
    if (!tcp && len > cap)
        fail("UDP response over the cap", out, len);
    if (verbose) {
        fprintf(stderr, ";; %s, %zu bytes\n", tcp ? "TCP" : "UDP", len);
        ldns_pkt_print(stderr, p);
    }
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct sockaddr *peer = (const struct sockaddr *)&peers[0];
    ldns_pkt *udp[NCFGS], *tcp;
    size_t len[NCFGS];
    if (size > DNS_MSG_MAX)
        return -1; /* TCP frames hold at most 65535 bytes */
    if (size >= 2)
        peer = (const struct sockaddr *)&peers[(data[0] ^ data[1]) % 6];

    size_t tlen = answer(&cfgs[CFG_UDP4096], data, size, peer, tcp_resp, sizeof tcp_resp, true);
    tcp = check(data, size, tcp_resp, tlen, sizeof tcp_resp, true);
    for (int c = 0; c < NCFGS; c++) {
        len[c] = answer(&cfgs[c], data, size, peer, resp[c], cfgs[c].edns_size, false);
        udp[c] = check(data, size, resp[c], len[c], cfgs[c].edns_size, false);
        if ((len[c] == 0) != (tlen == 0))
            fail("UDP and TCP disagree on answering at all", resp[c], len[c]);
    }

    /* A UDP answer that is not truncated is the TCP answer: same RCODE, same answer and
     * authority sections (the additional section may lose glue, RFC 2181 §9). With the
     * same configuration, a complete additional section makes it the same bytes. */
    for (int c = 0; c < NCFGS && tcp; c++) {
        if (ldns_pkt_tc(udp[c]))
            continue;
        if (ldns_pkt_get_rcode(udp[c]) != ldns_pkt_get_rcode(tcp) ||
            ldns_pkt_edns_extended_rcode(udp[c]) != ldns_pkt_edns_extended_rcode(tcp) ||
            ldns_pkt_aa(udp[c]) != ldns_pkt_aa(tcp) ||
            ldns_pkt_ancount(udp[c]) != ldns_pkt_ancount(tcp) ||
            ldns_pkt_nscount(udp[c]) != ldns_pkt_nscount(tcp))
            fail("UDP answer without TC differs from the TCP answer", resp[c], len[c]);
        if (c == CFG_UDP4096 && ldns_pkt_arcount(udp[c]) == ldns_pkt_arcount(tcp) &&
            (len[c] != tlen || memcmp(resp[c], tcp_resp, tlen) != 0))
            fail("complete UDP answer is not the TCP answer's bytes", resp[c], len[c]);
    }
    /* Rate limited: the same response, none, or a slip: TC=1, the header and question,
     * and the response's closing OPT (RFC 6891 §7) and TSIG records, as they end the
     * response, with nothing between them. The clock moves a second every 16 inputs. */
    static uint32_t inputs;
    q.rrl = rrl;
    q.now_s = inputs++ / 16;
    size_t rlen = answer(&cfgs[CFG_UDP1232], data, size, peer, rrl_resp, 1232, false);
    q.rrl = NULL;
    ldns_pkt_free(check(data, size, rrl_resp, rlen, 1232, false));
    const uint8_t *full = resp[CFG_UDP1232];
    size_t flen = len[CFG_UDP1232];
    if (rlen && !(rlen == flen && memcmp(rrl_resp, full, rlen) == 0)) {
        size_t qend = DNS_HEADER_LEN;
        bool ok = rlen <= flen && (rrl_resp[2] & 0x02) && memcmp(rrl_resp, full, 2) == 0 &&
                  memcmp(rrl_resp + 6, "\0\0\0", 4) == 0 && rrl_resp[10] == 0 &&
                  (rrl_resp[4] << 8 | rrl_resp[5]) <= 1;
        if (ok && rrl_resp[5] == 1)
            ok = skip_name(rrl_resp, rlen, &qend) == 0 && (qend += 4) <= rlen;
        size_t tail_len = rlen - qend, pos = qend;
        unsigned ntail = 0;
        ok = ok && memcmp(rrl_resp + 12, full + 12, qend - 12) == 0 &&
             memcmp(rrl_resp + qend, full + flen - tail_len, tail_len) == 0;
        while (ok && pos < rlen) { /* each an OPT or a TSIG */
            ok = skip_name(rrl_resp, rlen, &pos) == 0 && pos + 10 <= rlen;
            uint16_t type = ok ? (uint16_t)(rrl_resp[pos] << 8 | rrl_resp[pos + 1]) : 0;
            ok = ok && (type == 41 || type == 250);
            pos += ok ? 10u + (size_t)(rrl_resp[pos + 8] << 8 | rrl_resp[pos + 9]) : 0;
            ntail++;
        }
        if (!ok || pos != rlen || rrl_resp[11] != ntail)
            fail("rate limiting changed the response other than by a slip", rrl_resp, rlen);
    }

    /* RFC 6891 §7: a response carries an OPT record exactly when the query did (a query
     * too broken to find its OPT in is answered FORMERR, or NOTIMP for an opcode other
     * than QUERY, with or without one; ldns takes an OPT whatever its owner) */
    ldns_pkt *query = NULL;
    if (tcp && ldns_pkt_get_rcode(tcp) != LDNS_RCODE_FORMERR &&
        ldns_pkt_get_rcode(tcp) != LDNS_RCODE_NOTIMPL &&
        ldns_wire2pkt(&query, data, size) == LDNS_STATUS_OK &&
        ldns_pkt_edns(query) != ldns_pkt_edns(tcp))
        fail("OPT record in the response and the query disagree", tcp_resp, tlen);
    ldns_pkt_free(query);
    for (int c = 0; c < NCFGS; c++)
        ldns_pkt_free(udp[c]);
    ldns_pkt_free(tcp);
    return 0;
}
