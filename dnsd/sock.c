/* dnsd/sock.c — creating the listening sockets (see sock.h). */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dnsd/sock.h"

int sock_bind(const struct dnsd_listen *l, int type, int rcvbuf, int *fd_out, bool *wildcard_out)
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
        /* past net.core.rmem_max only as root (FORCE); else as much as it allows */
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
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

int sock_check_free(const struct dnsd_listen *l, int type)
{
    int family = l->addr.ss_family, on = 1, rc = 0;
    int fd = socket(family, type | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    /* without SO_REUSEPORT, so that a socket of another process's group conflicts; a
     * TCP one with SO_REUSEADDR, so that connections of a previous run waiting out
     * TIME_WAIT do not */
    if ((family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on)) ||
        (type == SOCK_STREAM && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on)) ||
        bind(fd, (const struct sockaddr *)&l->addr, l->addr_len) != 0)
        rc = -errno;
    close(fd);
    return rc;
}
