/* dnsd/conf.c — gtm-dnsd's option table and the checks that derive addresses and
 * NSID bytes from it. main() only. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "common/err.h"
#include "dnsd/conf.h"
#include "geo/geo.h"

#define OFF(f) offsetof(struct dnsd_cfg, f)

const struct cfg_opt dnsd_cfg_table[] = {
    {"db", CFG_STR, OFF(db), "/var/lib/gtm/gtm.db", "PATH",
     "the store to serve ($GTM_DB when not given)", 0, 0},
    {"listen", CFG_LIST, OFF(listen), "0.0.0.0:53 [::]:53", "ADDR[:PORT]",
     "address to answer on, UDP and TCP (port 53 unless given); repeatable; IPv6 as [::1]:53", 0,
     0},
    {"threads", CFG_UINT, OFF(threads), "0", "N", "worker threads, 0 for one per CPU", 0, 256},
    {"log-level", CFG_STR, OFF(log_level), "info", "LEVEL", "debug, info, warn or error", 0, 0},
    {"syslog", CFG_FLAG, OFF(syslog), NULL, NULL, "log to syslog instead of stderr", 0, 0},
    {"nsid", CFG_STR, OFF(nsid), NULL, "STRING",
     "NSID (RFC 5001) to send when asked; 0x-prefixed for hex bytes", 0, 0},
    {"identity", CFG_STR, OFF(identity), NULL, "STRING",
     "answer for CH TXT id.server and hostname.bind (else REFUSED)", 0, 0},
    {"server-version", CFG_STR, OFF(server_version), NULL, "STRING",
     "answer for CH TXT version.bind and version.server (else REFUSED)", 0, 0},
    {"foreground", CFG_FLAG, OFF(foreground), NULL, NULL,
     "stay in the foreground (else detach after binding)", 0, 0},
    {"pidfile", CFG_STR, OFF(pidfile), NULL, "PATH", "write the process id here", 0, 0},
    {"user", CFG_STR, OFF(user), NULL, "USER", "drop privileges to USER after binding", 0, 0},
    {"edns-size", CFG_UINT, OFF(edns_size), "1232", "BYTES",
     "largest UDP response (DNS flag day 2020: 1232 avoids fragmentation)", 512, 4096},
    {"tcp-idle-timeout", CFG_UINT, OFF(tcp_idle_timeout_s), "10", "SECONDS",
     "close TCP connections idle this long (RFC 7766 section 6.2.3)", 1, 3600},
    {"tcp-max-conns", CFG_UINT, OFF(tcp_max_conns), "1024", "N",
     "open TCP connections across all threads; past it one idle half the idle timeout "
     "gives its place, else the newest is closed",
     1, 1000000},
    {"geoip", CFG_LIST, OFF(geoip), NULL, "FILE",
     "GeoIP database (.mmdb, MaxMind or flat layout); repeatable: IPv4 and IPv6 may be "
     "separate files; replaced files are picked up",
     0, 0},
    {"reload-interval-ms", CFG_UINT, OFF(reload_interval_ms), "100", "MS",
     "how often the store is checked for changes", 10, 10000},
    {"udp-rcvbuf", CFG_UINT, OFF(udp_rcvbuf), "4194304", "BYTES",
     "receive buffer of each UDP socket: a burst this large queues instead of being dropped "
     "while the worker is busy",
     4096, 268435456},
    {"udp-steering", CFG_STR, OFF(udp_steering), "cpu", "cpu|hash",
     "which worker answers a UDP query: cpu, the worker of the CPU that received it (fewer "
     "wake-ups, fuller batches; needs a multi-queue NIC or RPS to use every worker); hash, the "
     "kernel's hash of the client's address and port",
     0, 0},
    {"xdp", CFG_STR, OFF(xdp), NULL, "IFACE",
     "also take UDP queries to the --listen addresses from IFACE before the kernel's IP stack "
     "(AF_XDP: a socket per receive queue, 0.6 to 0.75 of the CPU per query at saturation); needs "
     "root; the rest, TCP among it, goes to the sockets as without it",
     0, 0},
    {"cookie-secret", CFG_STR, OFF(cookie_secret), NULL, "HEX",
     "32 hex digits: the key of the DNS server cookies (RFC 7873, 9018) given to clients; the "
     "same on every server of one anycast address (else random at each start; keep it in the "
     "--config file)",
     0, 0},
    {"rrl-rate", CFG_UINT, OFF(rrl_rate), "0", "N",
     "UDP responses a second of one kind (answers for a name, a zone's NXDOMAINs, errors) to one "
     "client "
     "network; past it they are dropped or truncated (0: no limit)",
     0, 1000000},
    {"rrl-slip", CFG_UINT, OFF(rrl_slip), "2", "N",
     "every Nth limited response goes out truncated, so real clients retry over TCP (0: none)", 0,
     100},
    {"rrl-ipv4-prefix", CFG_UINT, OFF(rrl_v4_prefix), "24", "BITS",
     "IPv4 clients in one network of this prefix length share a limit", 8, 32},
    {"rrl-ipv6-prefix", CFG_UINT, OFF(rrl_v6_prefix), "56", "BITS",
     "IPv6 clients in one network of this prefix length share a limit", 16, 128},
    {NULL, 0, 0, NULL, NULL, NULL, 0, 0},
};

int dnsd_listen_parse(const char *text, struct dnsd_listen *l)
{
    char host[64];
    const char *port_text = NULL;
    memset(l, 0, sizeof *l);
    if (strlen(text) >= sizeof host)
        return GTM_EPARSE;
    snprintf(l->text, sizeof l->text, "%s", text);
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close)
            return GTM_EPARSE;
        snprintf(host, sizeof host, "%.*s", (int)(close - text - 1), text + 1);
        if (close[1] == ':')
            port_text = close + 2;
        else if (close[1] != '\0')
            return GTM_EPARSE;
    } else {
        const char *colon = strrchr(text, ':');
        if (colon && strchr(text, ':') != colon)
            return GTM_EPARSE; /* bare IPv6 needs brackets when a port follows */
        snprintf(host, sizeof host, "%.*s", colon ? (int)(colon - text) : (int)strlen(text), text);
        port_text = colon ? colon + 1 : NULL;
    }
    unsigned long port = 53;
    if (port_text) {
        char *end = NULL;
        port = strtoul(port_text, &end, 10);
        if (!*port_text || *end || port == 0 || port > 65535)
            return GTM_EPARSE;
    }
    struct sockaddr_in *in4 = (struct sockaddr_in *)&l->addr;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&l->addr;
    if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        l->addr_len = sizeof *in4;
    } else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        l->addr_len = sizeof *in6;
    } else {
        return GTM_EPARSE;
    }
    return 0;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads hex digits (an even number, 1 to max bytes) into out. */
static bool hex_bytes(const char *hex, uint8_t *out, size_t max, size_t *len)
{
    size_t digits = strlen(hex);
    if (digits == 0 || digits % 2 || digits / 2 > max)
        return false;
    for (size_t i = 0; i < digits / 2; i++) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    *len = digits / 2;
    return true;
}

int dnsd_cfg_finish(struct dnsd_cfg *cfg, char *err, size_t errlen)
{
    if (cfg->listen.n == 0 || cfg->listen.n > DNSD_MAX_LISTEN) {
        snprintf(err, errlen, "give 1 to %d --listen addresses", DNSD_MAX_LISTEN);
        return GTM_EPARSE;
    }
    cfg->naddrs = 0;
    for (size_t i = 0; i < cfg->listen.n; i++) {
        struct dnsd_listen *l = &cfg->addrs[cfg->naddrs++];
        if (dnsd_listen_parse(cfg->listen.v[i], l) != 0) {
            snprintf(err, errlen, "--listen '%s': not ADDRESS[:PORT] (IPv6 in brackets: [::1]:53)",
                     cfg->listen.v[i]);
            return GTM_EPARSE;
        }
        for (size_t k = 0; k + 1 < cfg->naddrs; k++) {
            if (cfg->addrs[k].addr_len == l->addr_len &&
                memcmp(&cfg->addrs[k].addr, &l->addr, l->addr_len) == 0) {
                snprintf(err, errlen, "--listen '%s': the same address and port as '%s'",
                         cfg->listen.v[i], cfg->listen.v[k]);
                return GTM_EPARSE;
            }
        }
    }
    cfg->nsid_len = 0;
    if (cfg->nsid) {
        const char *n = cfg->nsid;
        if (strncmp(n, "0x", 2) == 0) {
            if (!hex_bytes(n + 2, cfg->nsid_bytes, DNSD_NSID_MAX, &cfg->nsid_len))
                goto bad_nsid;
        } else {
            if (strlen(n) == 0 || strlen(n) > DNSD_NSID_MAX)
                goto bad_nsid;
            memcpy(cfg->nsid_bytes, n, strlen(n));
            cfg->nsid_len = strlen(n);
        }
    }
    size_t secret_len = 0;
    if (cfg->cookie_secret) {
        if (!hex_bytes(cfg->cookie_secret, cfg->cookie_key, sizeof cfg->cookie_key, &secret_len) ||
            secret_len != sizeof cfg->cookie_key) {
            snprintf(err, errlen, "--cookie-secret: %zu hex digits", 2 * sizeof cfg->cookie_key);
            return GTM_EPARSE;
        }
    } else if (getrandom(cfg->cookie_key, sizeof cfg->cookie_key, 0) !=
               (ssize_t)sizeof cfg->cookie_key) {
        snprintf(err, errlen, "no random key for DNS cookies: %s", strerror(errno));
        return GTM_EPARSE;
    }
    if ((cfg->identity && strlen(cfg->identity) > 255) ||
        (cfg->server_version && strlen(cfg->server_version) > 255)) {
        snprintf(err, errlen, "--identity and --server-version hold at most 255 characters");
        return GTM_EPARSE;
    }
    if (cfg->geoip.n > GEO_MAX_DBS) {
        snprintf(err, errlen, "at most %d --geoip databases", GEO_MAX_DBS);
        return GTM_EPARSE;
    }
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    cfg->cpus = cpus > 0 ? (uint32_t)cpus : 1;
    if (cfg->threads == 0)
        cfg->threads = cfg->cpus;
    if (strcmp(cfg->udp_steering, "cpu") != 0 && strcmp(cfg->udp_steering, "hash") != 0) {
        snprintf(err, errlen, "--udp-steering '%s': cpu or hash", cfg->udp_steering);
        return GTM_EPARSE;
    }
    /* CPU c's datagrams go to worker c mod threads: with more workers than CPUs some
     * would get none */
    cfg->udp_by_cpu = strcmp(cfg->udp_steering, "cpu") == 0 && cfg->threads <= cfg->cpus;
    return 0;
bad_nsid:
    snprintf(err, errlen, "--nsid: 1 to %d characters, or 0x and an even number of hex digits",
             DNSD_NSID_MAX);
    return GTM_EPARSE;
}
