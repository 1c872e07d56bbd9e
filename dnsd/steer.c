/* dnsd/steer.c — steering UDP datagrams to workers (see steer.h). */
#include "config.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/sock_diag.h>
#include <sys/socket.h>

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
    bool some = false, none = false;
    for (size_t i = 0; i < n; i++) {
        if (drops[i])
            some = true;
        else
            none = true;
    }
    return some && none;
}
