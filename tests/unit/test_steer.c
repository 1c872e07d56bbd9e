/* tests/unit/test_steer.c — UDP steering: when the workers' drops say the traffic is
 * unbalanced, the drop counter of a real socket that overflows, and attaching the
 * programs to a real SO_REUSEPORT socket. */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dnsd/steer.h"
#include "unit.h"

static void test_unbalanced(void **state)
{
    (void)state;
    const uint64_t idle[] = {0, 0}, one[] = {5, 0}, both[] = {5, 3}, third[] = {0, 0, 7};
    assert_false(steer_unbalanced(idle, 2));
    assert_true(steer_unbalanced(one, 2));
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

static void test_drops(void **state)
{
    (void)state;
    struct sockaddr_in addr;
    int fd = udp_socket(&addr, 4096), tx = socket(AF_INET, SOCK_DGRAM, 0);
    static const char payload[1200];
    assert_int_equal(steer_drops(fd), 0);
    /* nobody reads: past a few datagrams the buffer is full and the rest are dropped */
    for (int i = 0; i < 100; i++)
        assert_int_equal(
            sendto(tx, payload, sizeof payload, 0, (struct sockaddr *)&addr, sizeof addr),
            (ssize_t)sizeof payload);
    uint32_t dropped = steer_drops(fd);
    assert_true(dropped > 50 && dropped < 100);
    close(fd);
    close(tx);
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
        cmocka_unit_test(test_attach),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
