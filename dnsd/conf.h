/* dnsd/conf.h — gtm-dnsd's options: the table (defaults, help) and the parsed
 * values. Read once by main() before the workers start; read-only afterwards, so any
 * thread may read it. */
#ifndef GTM_DNSD_CONF_H
#define GTM_DNSD_CONF_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/cfg.h"
#include "dnsd/cookie.h"

/* RFC 5001: NSID is opaque bytes; we keep at most this many. */
#define DNSD_NSID_MAX 128
#define DNSD_MAX_LISTEN 32

struct dnsd_listen {
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char text[64]; /* as given, for logs */
};

struct dnsd_cfg {
    /* from the option table */
    char *db;
    struct cfg_list listen;
    uint32_t threads; /* 0: one per CPU */
    char *log_level;
    bool syslog;
    char *nsid;
    char *identity;
    char *server_version;
    bool foreground;
    char *pidfile;
    char *user;
    uint32_t edns_size;
    uint32_t tcp_idle_timeout_s;
    uint32_t tcp_max_conns;
    uint32_t reload_interval_ms;
    uint32_t rrl_rate; /* responses a second per key; 0: no rate limiting */
    uint32_t rrl_slip;
    uint32_t rrl_v4_prefix, rrl_v6_prefix;
    struct cfg_list geoip;
    uint32_t udp_rcvbuf;
    char *udp_steering; /* "cpu" or "hash" */
    char *cookie_secret;
    char *xdp; /* interface for AF_XDP (dnsd/xdp.h); NULL: sockets only */
    /* derived by dnsd_cfg_finish() */
    uint32_t cpus;   /* online CPUs */
    bool udp_by_cpu; /* steering by CPU asked for and possible (threads <= cpus) */
    struct dnsd_listen addrs[DNSD_MAX_LISTEN];
    size_t naddrs;
    uint8_t nsid_bytes[DNSD_NSID_MAX];
    size_t nsid_len; /* 0: no NSID */
    uint8_t cookie_key[COOKIE_SECRET_LEN];
};

extern const struct cfg_opt dnsd_cfg_table[];

/* Checks and derives what the table cannot (addresses, NSID bytes, thread count).
 * Returns 0 or GTM_EPARSE with err. */
int dnsd_cfg_finish(struct dnsd_cfg *cfg, char *err, size_t errlen);

/* Parses "1.2.3.4:53", "[::1]:53", "1.2.3.4" (port 53) into l. 0 or GTM_EPARSE. */
int dnsd_listen_parse(const char *text, struct dnsd_listen *l);

#endif
