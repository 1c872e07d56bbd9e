/* tests/unit/test_steer.c — UDP steering: when the workers' drops say the traffic is
 * unbalanced, the drop counter of a real socket that overflows, attaching the programs
 * to a real SO_REUSEPORT socket, and the watch over two sockets of one group. */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dnsd/steer.h"
#include "unit.h"

static void test_unbalanced(void **state)
{
    (void)state;
    const uint64_t idle[] = {0, 0}, one[] = {500, 0}, few[] = {3, 0}, both[] = {500, 300},
                   third[] = {0, 0, STEER_MIN_DROPS};
    assert_false(steer_unbalanced(idle, 2));
    assert_true(steer_unbalanced(one, 2));
    assert_false(steer_unbalanced(few, 2));  /* a few bad checksums: no overflow */
    assert_false(steer_unbalanced(both, 2)); /* over capacity everywhere: steering stays */
    assert_true(steer_unbalanced(third, 3));
    assert_false(steer_unbalanced(one, 1)); /* one worker: nothing to balance */
}

/* A UDP socket on 127.0.0.1, an ephemeral port, SO_REUSEPORT; *addr gets its address. */
static int udp_socket(struct sockaddr_in *addr, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0), on = 1;
    socklen_t len = sizeof *addr;
    assert_true(fd >= 0);
    *addr = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on), 0);
    if (rcvbuf)
        assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf), 0);
    assert_int_equal(bind(fd, (struct sockaddr *)addr, sizeof *addr), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)addr, &len), 0);
    return fd;
}

/* Another socket of the group of the one on *addr (same address and port). */
static int udp_socket_on(const struct sockaddr_in *addr, struct sockaddr_in *out)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0), on = 1, size = 4096;
    assert_true(fd >= 0);
    *out = *addr;
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on), 0);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size), 0);
    assert_int_equal(bind(fd, (const struct sockaddr *)out, sizeof *out), 0);
    return fd;
}

/* Sends n datagrams of 1,200 bytes from a new socket to addr, all from one CPU (on
 * loopback a datagram is received on its sender's CPU). */
static void flood(const struct sockaddr_in *addr, int n)
{
    static const char payload[1200];
    cpu_set_t saved, one;
    int tx = socket(AF_INET, SOCK_DGRAM, 0);
    assert_int_equal(sched_getaffinity(0, sizeof saved, &saved), 0);
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    assert_int_equal(sched_setaffinity(0, sizeof one, &one), 0);
    for (int i = 0; i < n; i++)
        assert_int_equal(
            sendto(tx, payload, sizeof payload, 0, (const struct sockaddr *)addr, sizeof *addr),
            (ssize_t)sizeof payload);
    assert_int_equal(sched_setaffinity(0, sizeof saved, &saved), 0);
    close(tx);
}

/* The drops of fd once they reach at least min (delivery over loopback may lag the
 * sender a little), or what they are after a second. */
static uint32_t drops_at_least(int fd, uint32_t min)
{
    uint32_t n = 0;
    for (int i = 0; i < 100 && (n = steer_drops(fd)) < min; i++)
        usleep(10000);
    return n;
}

static void test_drops(void **state)
{
    (void)state;
    struct sockaddr_in addr;
    int fd = udp_socket(&addr, 4096);
    assert_int_equal(steer_drops(fd), 0);
    /* nobody reads: past a few datagrams the buffer is full and the rest are dropped */
    flood(&addr, 300);
    uint32_t dropped = drops_at_least(fd, 250);
    assert_true(dropped >= 250 && dropped < 300);
    close(fd);
}

/* Two sockets of one group, as two workers on one address; the first overflows. */
static void test_watch(void **state)
{
    (void)state;
    struct sockaddr_in addr, second;
    int fds[2];
    char counts[64];
    struct steer_watch sw;
    fds[0] = udp_socket(&addr, 4096);
    fds[1] = udp_socket_on(&addr, &second);
    assert_int_equal(steer_watch_start(&sw, fds, 2, 1), 0);
    assert_false(steer_watch_check(&sw, counts, sizeof counts));
    assert_string_equal(counts, " 0 0");
    /* this CPU's datagrams all go to one socket of the two, which overflows */
    flood(&addr, 300);
    assert_true(drops_at_least(fds[0], 250) + drops_at_least(fds[1], 0) >= 250);
    assert_true(steer_watch_check(&sw, counts, sizeof counts));
    assert_int_equal(steer_watch_to_hash(&sw), 0);
    steer_watch_free(&sw);
    close(fds[0]);
    close(fds[1]);
}

static void test_attach(void **state)
{
    (void)state;
    struct sockaddr_in addr;
    int fd = udp_socket(&addr, 0);
    assert_int_equal(steer_by_cpu(fd, 2), 0);
    assert_int_equal(steer_by_hash(fd), 0);
    assert_int_equal(steer_by_cpu(fd, 0), -EINVAL);
    close(fd);
    assert_int_equal(steer_by_hash(fd), -EBADF);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unbalanced),
        cmocka_unit_test(test_drops),
        cmocka_unit_test(test_watch),
        cmocka_unit_test(test_attach),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
