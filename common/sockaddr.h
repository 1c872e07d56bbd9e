/* common/sockaddr.h — the IP address inside a socket address, as the client sent from:
 * an IPv4 address mapped into IPv6 (a dual-stack socket's view) is IPv4. Any thread. */
#ifndef GTM_COMMON_SOCKADDR_H
#define GTM_COMMON_SOCKADDR_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

/* Points *addr at sa's address bytes (AF_INET or AF_INET6) and returns their number:
 * 4 for IPv4, 16 for IPv6. */
static inline size_t sockaddr_ip(const struct sockaddr *sa, const uint8_t **addr)
{
    static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (sa->sa_family == AF_INET) {
        *addr = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
        return 4;
    }
    *addr = (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
    if (memcmp(*addr, v4mapped, sizeof v4mapped) == 0) {
        *addr += sizeof v4mapped;
        return 4;
    }
    return 16;
}

#endif
