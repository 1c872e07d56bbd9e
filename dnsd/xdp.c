/* dnsd/xdp.c — the AF_XDP fast path for UDP (see xdp.h): the eBPF filter, and the
 * sockets with their rings. Frames are parsed with common/wire.h and handed to the
 * owner's callbacks (gtm-dnsd's workers answer with query.c, as for udp.c); the reply
 * is written over its query's frame, addresses and ports swapped, and sent back out of
 * the interface it came in by. */
#include "config.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <xdp/xsk.h>

#include "common/wire.h"
#include "common/xalloc.h"
#include "dnsd/xdp.h"

/* ---- the filter ---------------------------------------------------------------- */

/* A key of the filter's table of listen addresses: IP version (4 or 6), UDP port and
 * address as in the packet (network order); the address is zero for a wildcard. */
struct xdp_key {
    uint16_t family;
    uint16_t port;
    uint8_t addr[16];
};

struct xdp_filter {
    int ifindex;
    unsigned queues;
    unsigned mtu; /* bytes of IP packet the interface sends */
    int listen_fd, xsks_fd, prog_fd, link_fd;
    const char *mode;
};

/* eBPF instructions (linux/bpf.h defines the encoding, not these shorthands). */
#define INSN(c, d, s, o, i)                                                                        \
    ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})
#define LDX(sz, d, s, o) INSN(BPF_LDX | BPF_MEM | (sz), d, s, o, 0)
#define STX(sz, d, o, s) INSN(BPF_STX | BPF_MEM | (sz), d, s, o, 0)
#define ST(sz, d, o, imm) INSN(BPF_ST | BPF_MEM | (sz), d, 0, o, imm)
#define MOV(d, s) INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOVI(d, imm) INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, imm)
#define ADDI(d, imm) INSN(BPF_ALU64 | BPF_ADD | BPF_K, d, 0, 0, imm)
#define ANDI(d, imm) INSN(BPF_ALU64 | BPF_AND | BPF_K, d, 0, 0, imm)
#define CALL(fn) INSN(BPF_JMP | BPF_CALL, 0, 0, 0, fn)
#define EXIT() INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
/* copies sz bytes of the packet at pkt_off to the key at key_off (through r5) */
#define COPY(sz, pkt_off, key_off)                                                                 \
    LDX(sz, BPF_REG_5, BPF_REG_2, pkt_off), STX(sz, BPF_REG_10, key_off, BPF_REG_5)
/* a 64-bit load of a map's file descriptor takes two slots */
#define LD_MAP(d, fd)                                                                              \
    INSN(BPF_LD | BPF_DW | BPF_IMM, d, BPF_PSEUDO_MAP_FD, 0, fd), INSN(0, 0, 0, 0, 0)
/* r0 = the value of the key in the map, or 0 */
#define LOOKUP_KEY(fd)                                                                             \
    LD_MAP(BPF_REG_1, fd), MOV(BPF_REG_2, BPF_REG_10), ADDI(BPF_REG_2, K_FAMILY),                  \
        CALL(BPF_FUNC_map_lookup_elem)
/* jumps name a label; filter_code() turns it into an offset */
#define JGT(d, s, l) INSN(BPF_JMP | BPF_JGT | BPF_X, d, s, -(l), 0)
#define JEQI(d, imm, l) INSN(BPF_JMP | BPF_JEQ | BPF_K, d, 0, -(l), imm)
#define JNEI(d, imm, l) INSN(BPF_JMP | BPF_JNE | BPF_K, d, 0, -(l), imm)
#define JA(l) INSN(BPF_JMP | BPF_JA, 0, 0, -(l), 0)
#define LABEL(l) INSN(0xff, 0, 0, l, 0) /* removed by filter_code() */

enum { L_V6 = 1, L_LOOKUP, L_REDIRECT, L_PASS, L_COUNT };

/* Offsets in an Ethernet frame: EtherType; IPv4 version+IHL, flags+fragment offset,
 * protocol, destination, UDP destination port; IPv6 next header, destination, UDP
 * destination port. */
#define ETH_TYPE 12
#define V4_VIHL 14
#define V4_FRAG 20
#define V4_PROTO 23
#define V4_DST 30
#define V4_DPORT 36
#define V4_END 42
#define V6_NEXT 20
#define V6_DST 38
#define V6_DPORT 56
#define V6_END 62
/* the key on the eBPF stack */
#define K_FAMILY (-24)
#define K_PORT (-22)
#define K_ADDR (-20)

/* The longest packet a frame takes: the kernel copies it XDP_PACKET_HEADROOM (256) bytes
 * into a frame; a longer one passes to the sockets rather than being dropped. */
#define FRAME_DATA_MAX (XSK_UMEM__DEFAULT_FRAME_SIZE - XDP_PACKET_HEADROOM)
/* Room for the program's instructions. */
#define FILTER_MAX 80

/* The filter: a UDP datagram (IPv4 without options or fragments, IPv6 without
 * extension headers) whose destination address and port, or port alone for a
 * wildcard, are in the listen table goes to the socket of the queue it came in on;
 * anything else, or with no socket on that queue, passes to the kernel. Writes the
 * program into code (FILTER_MAX instructions) and returns its length. */
static size_t filter_code(struct bpf_insn *code, int listen_fd, int xsks_fd)
{
    const struct bpf_insn src[] = {
        MOV(BPF_REG_6, BPF_REG_1),
        LDX(BPF_W, BPF_REG_2, BPF_REG_6, offsetof(struct xdp_md, data)),
        LDX(BPF_W, BPF_REG_3, BPF_REG_6, offsetof(struct xdp_md, data_end)),
        MOV(BPF_REG_4, BPF_REG_2),
        ADDI(BPF_REG_4, FRAME_DATA_MAX),
        JGT(BPF_REG_3, BPF_REG_4, L_PASS), /* longer than a frame takes */
        MOV(BPF_REG_4, BPF_REG_2),
        ADDI(BPF_REG_4, V4_END),
        JGT(BPF_REG_4, BPF_REG_3, L_PASS),
        ST(BPF_DW, BPF_REG_10, K_FAMILY, 0),
        ST(BPF_DW, BPF_REG_10, K_FAMILY + 8, 0),
        ST(BPF_W, BPF_REG_10, K_FAMILY + 16, 0),
        LDX(BPF_H, BPF_REG_5, BPF_REG_2, ETH_TYPE),
        JEQI(BPF_REG_5, htons(0x86DD), L_V6),
        JNEI(BPF_REG_5, htons(0x0800), L_PASS),
        LDX(BPF_B, BPF_REG_5, BPF_REG_2, V4_VIHL),
        JNEI(BPF_REG_5, 0x45, L_PASS),
        LDX(BPF_H, BPF_REG_5, BPF_REG_2, V4_FRAG),
        ANDI(BPF_REG_5, htons(0x3FFF)), /* more fragments, or an offset */
        JNEI(BPF_REG_5, 0, L_PASS),
        LDX(BPF_B, BPF_REG_5, BPF_REG_2, V4_PROTO),
        JNEI(BPF_REG_5, IPPROTO_UDP, L_PASS),
        ST(BPF_H, BPF_REG_10, K_FAMILY, 4),
        COPY(BPF_H, V4_DPORT, K_PORT),
        COPY(BPF_W, V4_DST, K_ADDR),
        JA(L_LOOKUP),
        LABEL(L_V6),
        MOV(BPF_REG_4, BPF_REG_2),
        ADDI(BPF_REG_4, V6_END),
        JGT(BPF_REG_4, BPF_REG_3, L_PASS),
        LDX(BPF_B, BPF_REG_5, BPF_REG_2, V6_NEXT),
        JNEI(BPF_REG_5, IPPROTO_UDP, L_PASS),
        ST(BPF_H, BPF_REG_10, K_FAMILY, 6),
        COPY(BPF_H, V6_DPORT, K_PORT),
        COPY(BPF_W, V6_DST, K_ADDR),
        COPY(BPF_W, V6_DST + 4, K_ADDR + 4),
        COPY(BPF_W, V6_DST + 8, K_ADDR + 8),
        COPY(BPF_W, V6_DST + 12, K_ADDR + 12),
        LABEL(L_LOOKUP),
        LOOKUP_KEY(listen_fd),
        JNEI(BPF_REG_0, 0, L_REDIRECT),
        /* not the address: a wildcard on that port? */
        ST(BPF_W, BPF_REG_10, K_ADDR, 0),
        ST(BPF_W, BPF_REG_10, K_ADDR + 4, 0),
        ST(BPF_W, BPF_REG_10, K_ADDR + 8, 0),
        ST(BPF_W, BPF_REG_10, K_ADDR + 12, 0),
        LOOKUP_KEY(listen_fd),
        JEQI(BPF_REG_0, 0, L_PASS),
        LABEL(L_REDIRECT),
        LDX(BPF_W, BPF_REG_2, BPF_REG_6, offsetof(struct xdp_md, rx_queue_index)),
        LD_MAP(BPF_REG_1, xsks_fd),
        MOVI(BPF_REG_3, XDP_PASS), /* no socket on the queue: the kernel's */
        CALL(BPF_FUNC_redirect_map),
        EXIT(),
        LABEL(L_PASS),
        MOVI(BPF_REG_0, XDP_PASS),
        EXIT(),
    };
    _Static_assert(sizeof src / sizeof src[0] <= FILTER_MAX, "FILTER_MAX too small");
    int at[L_COUNT] = {0};
    size_t n = 0;
    for (size_t i = 0; i < sizeof src / sizeof src[0]; i++) {
        if (src[i].code == 0xff)
            at[src[i].off] = (int)n;
        else
            code[n++] = src[i];
    }
    for (size_t i = 0; i < n; i++)
        if (BPF_CLASS(code[i].code) == BPF_JMP && code[i].off < 0)
            code[i].off = (int16_t)(at[-code[i].off] - (int)i - 1);
    return n;
}

/* The interface's receive queues (ethtool's channels; 1 when it has none, as the
 * loopback) and MTU, asked through a socket of this network namespace. 0 or -errno. */
static int link_facts(const char *ifname, unsigned *queues, unsigned *mtu)
{
    struct ethtool_channels ch = {.cmd = ETHTOOL_GCHANNELS};
    struct ifreq ifr = {0};
    int rc = 0, fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
    if (ioctl(fd, SIOCGIFMTU, &ifr) != 0)
        rc = -errno;
    *mtu = (unsigned)ifr.ifr_mtu;
    ifr.ifr_data = (void *)&ch;
    *queues = ioctl(fd, SIOCETHTOOL, &ifr) == 0 && ch.combined_count + ch.rx_count > 0
                  ? ch.combined_count + ch.rx_count
                  : 1;
    close(fd);
    return rc;
}

static int add_listen(int fd, const struct dnsd_listen *l)
{
    struct xdp_key k = {0};
    uint32_t one = 1;
    if (l->addr.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&l->addr;
        k.family = 4;
        k.port = a->sin_port;
        memcpy(k.addr, &a->sin_addr, 4);
    } else {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&l->addr;
        k.family = 6;
        k.port = a->sin6_port;
        memcpy(k.addr, &a->sin6_addr, 16);
    }
    return bpf_map_update_elem(fd, &k, &one, BPF_ANY) ? -errno : 0;
}

int xdp_filter_new(struct xdp_filter **out, const char *ifname, const struct dnsd_listen *addrs,
                   size_t naddrs, char *msg, size_t msglen)
{
    struct xdp_filter *f = xcalloc(1, sizeof *f);
    struct bpf_insn code[FILTER_MAX];
    char log[4096] = "";
    int rc;
    f->listen_fd = f->xsks_fd = f->prog_fd = f->link_fd = -1;
    f->ifindex = (int)if_nametoindex(ifname);
    if (f->ifindex == 0) {
        rc = -errno;
        snprintf(msg, msglen, "--xdp %s: no such network interface", ifname);
        goto out;
    }
    if ((rc = link_facts(ifname, &f->queues, &f->mtu))) {
        snprintf(msg, msglen, "--xdp %s: %s", ifname, strerror(-rc));
        goto out;
    }
    f->listen_fd = bpf_map_create(BPF_MAP_TYPE_HASH, "gtm_listen", sizeof(struct xdp_key),
                                  sizeof(uint32_t), DNSD_MAX_LISTEN, NULL);
    f->xsks_fd = bpf_map_create(BPF_MAP_TYPE_XSKMAP, "gtm_xsks", sizeof(uint32_t), sizeof(int),
                                f->queues, NULL);
    if (f->listen_fd < 0 || f->xsks_fd < 0) {
        rc = -errno;
        snprintf(msg, msglen, "--xdp %s: cannot create the filter's maps: %s (needs root)", ifname,
                 strerror(-rc));
        goto out;
    }
    for (size_t i = 0; i < naddrs; i++)
        if ((rc = add_listen(f->listen_fd, &addrs[i]))) {
            snprintf(msg, msglen, "--xdp %s: %s", ifname, strerror(-rc));
            goto out;
        }
    LIBBPF_OPTS(bpf_prog_load_opts, po, .expected_attach_type = BPF_XDP, .log_buf = log,
                .log_size = sizeof log, .log_level = 0);
    size_t n = filter_code(code, f->listen_fd, f->xsks_fd);
    f->prog_fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "gtm_dns", "GPL", code, n, &po);
    if (f->prog_fd < 0) {
        rc = -errno;
        snprintf(msg, msglen, "--xdp %s: the kernel refuses the filter: %s%s%s", ifname,
                 strerror(-rc), *log ? ": " : "", log);
        goto out;
    }
    /* a link, not a plain attachment: the kernel detaches it when the process ends */
    LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = XDP_FLAGS_DRV_MODE);
    f->mode = "driver";
    f->link_fd = bpf_link_create(f->prog_fd, f->ifindex, BPF_XDP, &lo);
    if (f->link_fd < 0 && errno != EBUSY && errno != EEXIST) {
        lo.flags = XDP_FLAGS_SKB_MODE;
        f->mode = "generic";
        f->link_fd = bpf_link_create(f->prog_fd, f->ifindex, BPF_XDP, &lo);
    }
    if (f->link_fd < 0) {
        rc = -errno;
        snprintf(msg, msglen, "--xdp %s: cannot attach the filter: %s", ifname,
                 rc == -EBUSY || rc == -EEXIST
                     ? "the interface has an XDP program already (ip link show dev IFACE)"
                     : strerror(-rc));
        goto out;
    }
    *out = f;
    f = NULL;
    rc = 0;
out:
    xdp_filter_free(f);
    return rc;
}

unsigned xdp_filter_queues(const struct xdp_filter *f)
{
    return f->queues;
}

const char *xdp_filter_mode(const struct xdp_filter *f)
{
    return f->mode;
}

void xdp_filter_free(struct xdp_filter *f)
{
    if (!f)
        return;
    int fds[] = {f->link_fd, f->prog_fd, f->xsks_fd, f->listen_fd};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(f);
}

/* ---- the sockets ------------------------------------------------------------------ */

/* Frames of one socket's memory, 4 KiB each (the kernel's default): as many as a ring
 * holds, so the fill ring always has room for them all; 4 MiB a socket. A queue holds
 * up to XDP_RING queries that wait for the worker, as a socket's receive buffer. */
#define XDP_RING 1024
#define XDP_FRAMES XDP_RING
#define XDP_FRAME_SIZE XSK_UMEM__DEFAULT_FRAME_SIZE
/* Frames read per batch, and batches per wake-up (as UDP_BATCH and UDP_ROUNDS). */
#define XDP_BATCH 64
#define XDP_ROUNDS 8
#define ETH_LEN 14
#define V4_LEN 20
#define V6_LEN 40
#define UDP_LEN 8
/* the largest reply: a frame less the headers */
#define XDP_RESP_MAX (XDP_FRAME_SIZE - ETH_LEN - V6_LEN - UDP_LEN)

struct xdp_sock {
    uv_poll_t poll;
    struct xdp_ops ops;
    uint64_t dropped; /* frames that were not a UDP datagram (the filter lets none through) */
    void *mem;
    struct xsk_umem *umem;
    struct xsk_socket *xsk;
    struct xsk_ring_prod fill, tx;
    struct xsk_ring_cons comp, rx;
    int fd;
    unsigned mtu; /* the interface's: no reply is longer (they cannot be fragmented) */
    uint8_t resp[XDP_RESP_MAX];
};

/* The one's-complement sum of n bytes (RFC 1071), folded to 16 bits, added to sum. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
    for (; n > 1; p += 2, n -= 2)
        sum += (uint32_t)(p[0] << 8 | p[1]);
    if (n)
        sum += (uint32_t)p[0] << 8;
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    return sum;
}

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* A frame's query: where its DNS message starts, how long it is, and the client. */
struct xdp_query {
    size_t ip_off, udp_off, dns_off, dns_len;
    struct sockaddr_storage peer;
};

/* Reads the headers the filter checked (through wire.h all the same: the filter's
 * checks are the kernel's, this is ours). Returns 0, or -1 for a frame to drop. */
static int parse_frame(const uint8_t *p, size_t len, struct xdp_query *xq)
{
    struct wire_rd rd;
    uint16_t type, sport, dport, ulen, sum;
    uint8_t vihl;
    const uint8_t *ip;
    wire_rd_init(&rd, p, len);
    if (wire_rd_bytes(&rd, 12, &ip) || wire_rd_u16(&rd, &type))
        return -1;
    xq->ip_off = ETH_LEN;
    if (type == 0x0800) {
        struct sockaddr_in *a = (struct sockaddr_in *)&xq->peer;
        if (wire_rd_u8(&rd, &vihl) || vihl != 0x45 || wire_rd_bytes(&rd, V4_LEN - 1, &ip) ||
            ip[8] != IPPROTO_UDP)
            return -1;
        memset(a, 0, sizeof *a);
        a->sin_family = AF_INET;
        memcpy(&a->sin_addr, ip + 11, 4); /* source, after version+IHL */
        xq->udp_off = ETH_LEN + V4_LEN;
    } else if (type == 0x86DD) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&xq->peer;
        if (wire_rd_bytes(&rd, V6_LEN, &ip) || ip[6] != IPPROTO_UDP)
            return -1;
        memset(a, 0, sizeof *a);
        a->sin6_family = AF_INET6;
        memcpy(&a->sin6_addr, ip + 8, 16);
        xq->udp_off = ETH_LEN + V6_LEN;
    } else {
        return -1;
    }
    if (wire_rd_u16(&rd, &sport) || wire_rd_u16(&rd, &dport) || wire_rd_u16(&rd, &ulen) ||
        wire_rd_u16(&rd, &sum) || ulen < UDP_LEN || ulen > len - xq->udp_off)
        return -1;
    if (xq->peer.ss_family == AF_INET)
        ((struct sockaddr_in *)&xq->peer)->sin_port = htons(sport);
    else
        ((struct sockaddr_in6 *)&xq->peer)->sin6_port = htons(sport);
    xq->dns_off = xq->udp_off + UDP_LEN;
    xq->dns_len = (size_t)ulen - UDP_LEN; /* Ethernet may pad a short frame */
    return 0;
}

/* Turns the query's frame p into the reply carrying the resp_len bytes already at
 * p + dns_off: MAC addresses, IP addresses and ports swapped, lengths, hop limit and
 * checksums set. Returns the frame's length. */
static size_t reply_frame(uint8_t *p, const struct xdp_query *xq, size_t resp_len)
{
    uint8_t tmp[16];
    uint8_t *ip = p + xq->ip_off, *udp = p + xq->udp_off;
    size_t udp_len = UDP_LEN + resp_len, alen = xq->peer.ss_family == AF_INET ? 4 : 16;
    uint8_t *src = ip + (alen == 4 ? 12 : 8), *dst = src + alen;
    memcpy(tmp, p, 6); /* Ethernet: destination, source */
    memcpy(p, p + 6, 6);
    memcpy(p + 6, tmp, 6);
    memcpy(tmp, src, alen);
    memcpy(src, dst, alen);
    memcpy(dst, tmp, alen);
    memcpy(tmp, udp, 2); /* UDP: source port, destination port */
    memcpy(udp, udp + 2, 2);
    memcpy(udp + 2, tmp, 2);
    put16(udp + 4, (uint32_t)udp_len);
    put16(udp + 6, 0);
    if (alen == 4) {
        ip[1] = 0;                                   /* DSCP, ECN */
        put16(ip + 2, (uint32_t)(V4_LEN + udp_len)); /* total length */
        put16(ip + 4, 0);                            /* identification */
        put16(ip + 6, 0x4000);                       /* don't fragment */
        ip[8] = 64;                                  /* TTL */
        put16(ip + 10, 0);
        put16(ip + 10, ~csum_add(0, ip, V4_LEN) & 0xFFFF);
    } else {
        ip[0] = 0x60, ip[1] = 0, ip[2] = 0, ip[3] = 0; /* version, class, flow */
        put16(ip + 4, (uint32_t)udp_len);
        ip[7] = 64; /* hop limit */
    }
    /* UDP checksum (required with IPv6): pseudo-header, then header and data */
    uint32_t sum = csum_add(0, src, 2 * alen);
    sum += IPPROTO_UDP + (uint32_t)udp_len;
    sum = csum_add(sum, udp, udp_len);
    uint32_t c = ~sum & 0xFFFF;
    put16(udp + 6, c ? c : 0xFFFF);
    return xq->dns_off + resp_len;
}

/* Frames the kernel has sent go back to the fill ring for more queries. */
static void recycle(struct xdp_sock *x)
{
    uint32_t ci, fi;
    uint32_t n = xsk_ring_cons__peek(&x->comp, XDP_RING, &ci);
    if (n == 0 || xsk_ring_prod__reserve(&x->fill, n, &fi) != n)
        return; /* the fill ring has room for every frame */
    for (uint32_t i = 0; i < n; i++)
        *xsk_ring_prod__fill_addr(&x->fill, fi + i) = *xsk_ring_cons__comp_addr(&x->comp, ci + i);
    xsk_ring_prod__submit(&x->fill, n);
    xsk_ring_cons__release(&x->comp, n);
}

/* Returns a frame that carries no reply straight to the fill ring. */
static void refill(struct xdp_sock *x, uint64_t addr)
{
    uint32_t fi = 0;
    if (xsk_ring_prod__reserve(&x->fill, 1, &fi) == 1) {
        *xsk_ring_prod__fill_addr(&x->fill, fi) = addr;
        xsk_ring_prod__submit(&x->fill, 1);
    }
}

/* Has the kernel taken every reply of the TX ring? */
static bool tx_drained(struct xdp_sock *x)
{
    return __atomic_load_n(x->tx.consumer, __ATOMIC_ACQUIRE) == *x->tx.producer;
}

/* Tells the kernel to send the TX ring. Without a NIC that sends from the ring itself
 * (zero-copy), each call sends at most 32 frames (the kernel's budget a call: EAGAIN)
 * and fails with EBUSY while the completion ring is full: call again, emptying the
 * completion ring, until every reply is out, so that none waits for the next query. */
static void send_all(struct xdp_sock *x)
{
    for (int i = 0; i < XDP_RING / 32 + 2 && xsk_ring_prod__needs_wakeup(&x->tx); i++) {
        if (tx_drained(x))
            return;
        if (sendto(x->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) < 0 && errno != EAGAIN && errno != EBUSY)
            return; /* ENOBUFS, ENETDOWN: the next batch tries again */
        recycle(x);
    }
}

static void on_readable(uv_poll_t *h, int status, int events)
{
    struct xdp_sock *x = h->data;
    (void)events;
    if (status < 0)
        return;
    for (int round = 0; round < XDP_ROUNDS; round++) {
        uint32_t ri = 0, ti = 0, k = 0;
        recycle(x);
        uint32_t room = xsk_prod_nb_free(&x->tx, XDP_BATCH);
        uint32_t n = xsk_ring_cons__peek(&x->rx, room < XDP_BATCH ? room : XDP_BATCH, &ri);
        if (n == 0)
            break;
        xsk_ring_prod__reserve(&x->tx, n, &ti); /* room was checked */
        x->ops.batch(x->ops.arg, true);
        for (uint32_t i = 0; i < n; i++) {
            const struct xdp_desc *d = xsk_ring_cons__rx_desc(&x->rx, ri + i);
            uint8_t *p = xsk_umem__get_data(x->mem, d->addr);
            size_t room_b = XDP_FRAME_SIZE - (d->addr & (XDP_FRAME_SIZE - 1));
            struct xdp_query xq;
            size_t len = 0;
            if (parse_frame(p, d->len, &xq) == 0) {
                /* what the frame and the MTU allow; a longer answer is truncated (TC)
                 * and the client asks again over TCP */
                size_t cap = room_b - xq.dns_off, mtu_cap = x->mtu - (xq.dns_off - ETH_LEN);
                len = x->ops.answer(x->ops.arg, p + xq.dns_off, xq.dns_len,
                                    (const struct sockaddr *)&xq.peer, x->resp,
                                    cap < mtu_cap ? cap : mtu_cap);
            } else {
                x->dropped++;
            }
            if (len == 0) {
                refill(x, d->addr);
                continue;
            }
            memcpy(p + xq.dns_off, x->resp, len);
            struct xdp_desc *t = xsk_ring_prod__tx_desc(&x->tx, ti + k++);
            t->addr = d->addr;
            t->len = (uint32_t)reply_frame(p, &xq, len);
        }
        x->ops.batch(x->ops.arg, false);
        xsk_ring_cons__release(&x->rx, n);
        /* unused reservations go back: submit only the replies */
        x->tx.cached_prod -= n - k;
        xsk_ring_prod__submit(&x->tx, k);
        if (k)
            send_all(x);
        if (n < XDP_BATCH)
            break;
    }
    recycle(x);
}

int xdp_sock_open(struct xdp_sock **out, struct xdp_filter *f, unsigned queue,
                  const struct xdp_ops *ops, char *msg, size_t msglen)
{
    struct xdp_sock *x = xcalloc(1, sizeof *x);
    char ifname[IF_NAMESIZE] = "";
    uint32_t fi = 0;
    int rc;
    x->ops = *ops;
    x->fd = -1;
    x->mtu = f->mtu;
    if_indextoname((unsigned)f->ifindex, ifname);
    x->mem = mmap(NULL, (size_t)XDP_FRAMES * XDP_FRAME_SIZE, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (x->mem == MAP_FAILED) {
        x->mem = NULL;
        rc = -errno;
        snprintf(msg, msglen, "--xdp %s: %s", ifname, strerror(-rc));
        goto out;
    }
    struct xsk_umem_config uc = {
        .fill_size = XDP_RING,
        .comp_size = XDP_RING,
        .frame_size = XDP_FRAME_SIZE,
    };
    rc = xsk_umem__create(&x->umem, x->mem, (uint64_t)XDP_FRAMES * XDP_FRAME_SIZE, &x->fill,
                          &x->comp, &uc);
    if (rc == 0) {
        struct xsk_socket_config sc = {
            .rx_size = XDP_RING,
            .tx_size = XDP_RING,
            .libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD, /* our filter, not libxdp's */
            .bind_flags = XDP_USE_NEED_WAKEUP,
        };
        rc = xsk_socket__create(&x->xsk, ifname, queue, x->umem, &x->rx, &x->tx, &sc);
    }
    if (rc == 0)
        rc = xsk_socket__update_xskmap(x->xsk, f->xsks_fd);
    if (rc) {
        snprintf(msg, msglen, "--xdp %s: cannot open the AF_XDP socket of queue %u: %s", ifname,
                 queue, strerror(-rc));
        goto out;
    }
    x->fd = xsk_socket__fd(x->xsk);
    /* every frame waits for a query */
    xsk_ring_prod__reserve(&x->fill, XDP_RING, &fi);
    for (uint32_t i = 0; i < XDP_RING; i++)
        *xsk_ring_prod__fill_addr(&x->fill, fi + i) = (uint64_t)i * XDP_FRAME_SIZE;
    xsk_ring_prod__submit(&x->fill, XDP_RING);
    *out = x;
    x = NULL;
out:
    if (x) {
        if (x->xsk)
            xsk_socket__delete(x->xsk);
        if (x->umem)
            xsk_umem__delete(x->umem);
        if (x->mem)
            munmap(x->mem, (size_t)XDP_FRAMES * XDP_FRAME_SIZE);
        free(x);
    }
    return rc;
}

int xdp_sock_start(struct xdp_sock *x, uv_loop_t *loop)
{
    int rc = uv_poll_init(loop, &x->poll, x->fd);
    if (rc)
        return rc;
    x->poll.data = x;
    return uv_poll_start(&x->poll, UV_READABLE, on_readable);
}

static void on_closed(uv_handle_t *h)
{
    struct xdp_sock *x = h->data;
    xsk_socket__delete(x->xsk);
    xsk_umem__delete(x->umem);
    munmap(x->mem, (size_t)XDP_FRAMES * XDP_FRAME_SIZE);
    free(x);
}

uint64_t xdp_sock_dropped(const struct xdp_sock *x)
{
    return x->dropped;
}

void xdp_sock_close(struct xdp_sock *x)
{
    if (x->poll.data) {
        uv_poll_stop(&x->poll);
        uv_close((uv_handle_t *)&x->poll, on_closed);
    } else {
        x->poll.data = x;
        on_closed((uv_handle_t *)&x->poll);
    }
}
