/* dnsd/steer.c — steering UDP datagrams to workers (see steer.h). */
#include "config.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/sock_diag.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/xalloc.h"
#include "dnsd/steer.h"

static int attach(int fd, struct sock_filter *code, unsigned short len)
{
    struct sock_fprog prog = {.len = len, .filter = code};
    return setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof prog) ? -errno : 0;
}

int steer_by_cpu(int fd, unsigned nsocks)
{
    /* run by the kernel for each datagram: A = the CPU that received it; A %= nsocks;
     * the socket at index A of the group takes it */
    struct sock_filter code[] = {
        {BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)(SKF_AD_OFF + SKF_AD_CPU)},
        {BPF_ALU | BPF_MOD | BPF_K, 0, 0, nsocks},
        {BPF_RET | BPF_A, 0, 0, 0},
    };
    if (nsocks == 0)
        return -EINVAL;
    return attach(fd, code, sizeof code / sizeof code[0]);
}

int steer_by_hash(int fd)
{
    struct sock_filter code[] = {{BPF_RET | BPF_K, 0, 0, UINT32_MAX}}; /* past every socket */
    return attach(fd, code, 1);
}

uint32_t steer_drops(int fd)
{
    uint32_t mem[SK_MEMINFO_VARS] = {0};
    socklen_t len = sizeof mem;
    if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len) != 0 ||
        len <= SK_MEMINFO_DROPS * sizeof mem[0])
        return 0;
    return mem[SK_MEMINFO_DROPS];
}

bool steer_unbalanced(const uint64_t *drops, size_t n)
{
    bool overflowed = false, none = false;
    for (size_t i = 0; i < n; i++) {
        overflowed |= drops[i] >= STEER_MIN_DROPS;
        none |= drops[i] == 0;
    }
    return overflowed && none;
}

int steer_watch_start(struct steer_watch *sw, const int *fds, size_t nworkers, size_t naddrs)
{
    size_t n = nworkers * naddrs;
    memset(sw, 0, sizeof *sw);
    for (size_t a = 0; a < naddrs; a++) {
        int rc = steer_by_cpu(fds[a], (unsigned)nworkers);
        if (rc) {
            for (size_t b = 0; b < a; b++)
                steer_by_hash(fds[b]);
            return rc;
        }
    }
    sw->nworkers = nworkers;
    sw->naddrs = naddrs;
    sw->fds = xcalloc(n, sizeof *sw->fds);
    memcpy(sw->fds, fds, n * sizeof *fds);
    sw->last = xcalloc(n, sizeof *sw->last);
    sw->delta = xcalloc(nworkers, sizeof *sw->delta);
    for (size_t i = 0; i < n; i++)
        sw->last[i] = steer_drops(fds[i]);
    return 0;
}

bool steer_watch_check(struct steer_watch *sw, char *counts, size_t size)
{
    size_t len = 0;
    counts[0] = '\0';
    for (size_t w = 0; w < sw->nworkers; w++) {
        sw->delta[w] = 0;
        for (size_t a = 0; a < sw->naddrs; a++) {
            size_t i = w * sw->naddrs + a;
            uint32_t now = steer_drops(sw->fds[i]);
            sw->delta[w] += (uint32_t)(now - sw->last[i]);
            sw->last[i] = now;
        }
        if (len < size)
            len += (size_t)snprintf(counts + len, size - len, " %llu",
                                    (unsigned long long)sw->delta[w]);
    }
    return steer_unbalanced(sw->delta, sw->nworkers);
}

int steer_watch_to_hash(const struct steer_watch *sw)
{
    int first = 0;
    for (size_t a = 0; a < sw->naddrs; a++) {
        int rc = steer_by_hash(sw->fds[a]);
        if (rc && !first)
            first = rc;
    }
    return first;
}

void steer_watch_free(struct steer_watch *sw)
{
    free(sw->fds);
    free(sw->last);
    free(sw->delta);
    memset(sw, 0, sizeof *sw);
}
