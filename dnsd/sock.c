/* dnsd/sock.c — creating the listening sockets (see sock.h). */
#include "config.h"

#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dnsd/sock.h"

/* Socket buffers for UDP: bursts of several thousand queries queue in the kernel
 * instead of being dropped while a worker is busy. */
#define UDP_RCVBUF_BYTES (4 << 20)

int sock_steer_by_cpu(int fd, unsigned nsocks)
{
    /* classic BPF, run by the kernel for each datagram: A = the CPU that received it;
     * A %= nsocks; the socket at index A of the group takes it */
    struct sock_filter code[] = {
        {BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)(SKF_AD_OFF + SKF_AD_CPU)},
        {BPF_ALU | BPF_MOD | BPF_K, 0, 0, nsocks},
        {BPF_RET | BPF_A, 0, 0, 0},
    };
    struct sock_fprog prog = {.len = sizeof code / sizeof code[0], .filter = code};
    if (nsocks == 0)
        return -EINVAL;
    return setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof prog) ? -errno : 0;
}

int sock_bind(const struct dnsd_listen *l, int type, int *fd_out, bool *wildcard_out)
{
    int family = l->addr.ss_family, on = 1, rc = 0;
    int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    bool wildcard;
    if (fd < 0)
        return -errno;
    if (family == AF_INET)
        wildcard = ((const struct sockaddr_in *)&l->addr)->sin_addr.s_addr == htonl(INADDR_ANY);
    else
        wildcard = IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)&l->addr)->sin6_addr);
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) ||
        (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on))) {
        rc = -errno;
        goto out;
    }
    if (type == SOCK_DGRAM) {
        int size = UDP_RCVBUF_BYTES;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size); /* best effort */
        if (wildcard && family == AF_INET &&
            setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on)) {
            rc = -errno;
            goto out;
        }
        if (wildcard && family == AF_INET6 &&
            setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on)) {
            rc = -errno;
            goto out;
        }
    }
    if (bind(fd, (const struct sockaddr *)&l->addr, l->addr_len) != 0)
        rc = -errno;
out:
    if (rc) {
        close(fd);
        return rc;
    }
    *fd_out = fd;
    if (wildcard_out)
        *wildcard_out = wildcard;
    return 0;
}
