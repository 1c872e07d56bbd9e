"""gtm-dnsd: which worker answers a UDP query (--udp-steering). By default (cpu) the
datagrams received on CPU c go to worker c mod threads, so a client pinned to one CPU
(on loopback a datagram is received on its sender's CPU) is answered by one worker
however many source ports it uses; with hash the kernel spreads the same traffic by
address and port. The SIGUSR1 line counts each worker's UDP queries. With more threads
than CPUs, some workers would never get a datagram by CPU: the kernel's hash is used,
and the log says so. When one worker's socket overflows while another's does not, the
traffic is too concentrated for steering by CPU, and gtm-dnsd goes back to the hash.
"""
import os
import re
import signal
import socket

import dns.message
import pytest

from dnsd_util import shared_store, start  # noqa: F401 (fixture)

PORTS, PER_PORT = 20, 10


def two_cpus():
    """Two CPUs this process may run on that map to different workers of two (one
    even, one odd); skips the test on a machine without them."""
    cpus = sorted(os.sched_getaffinity(0))
    even = [c for c in cpus if c % 2 == 0]
    odd = [c for c in cpus if c % 2 == 1]
    if not even or not odd:
        pytest.skip(f"needs an even and an odd CPU to run on, has {cpus}")
    return even[0], odd[0]


def queries_from(srv, cpu, per_port=PER_PORT, burst=True):
    """From CPU cpu only, PORTS sockets (PORTS source ports) each ask per_port queries
    and get every answer: all sent before the first answer is read (burst), or one
    socket after the other."""
    saved = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    try:
        socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(PORTS)]
        for s in socks:
            s.settimeout(2)
            for i in range(per_port):
                s.sendto(dns.message.make_query("www.dnsd.test.", "A", id=i).to_wire(),
                         ("127.0.0.1", srv.port))
            if not burst:
                read_answers(s, per_port)
        for s in socks:
            if burst:
                read_answers(s, per_port)
            s.close()
    finally:
        os.sched_setaffinity(0, saved)


def read_answers(s, n):
    assert {dns.message.from_wire(s.recv(4096)).id for _ in range(n)} == set(range(n))


def udp_by_thread(srv):
    """The UDP queries of each worker, from the stats line SIGUSR1 logs."""
    mark = len(srv.log())
    srv.daemon.signal(signal.SIGUSR1)
    m = srv.daemon.wait_log(r"udp by thread:([ \d]+)\n", start=mark)
    return [int(n) for n in m.group(1).split()]


def test_by_cpu_one_worker_per_cpu(shared_store, dnsd):
    a, b = two_cpus()
    srv = start(dnsd, shared_store.db, threads=2)
    srv.daemon.wait_log(r"ready: .*; 2 threads on .*; UDP steered by CPU\n")
    queries_from(srv, a)
    n = PORTS * PER_PORT
    assert udp_by_thread(srv) == [n, 0]  # CPU a is even: worker 0, from all 20 ports
    queries_from(srv, b)
    assert udp_by_thread(srv) == [n, n]


def test_by_hash_spreads_one_cpus_queries(shared_store, dnsd):
    a, _ = two_cpus()
    srv = start(dnsd, shared_store.db, "--udp-steering", "hash", threads=2)
    srv.daemon.wait_log(r"; UDP steered by hash\n")
    queries_from(srv, a)
    counts = udp_by_thread(srv)
    # 20 source ports all hashed to one of two workers: once in 2^19 runs
    assert sum(counts) == PORTS * PER_PORT and min(counts) > 0, counts


def test_more_threads_than_cpus_fall_back_to_hash(shared_store, dnsd):
    cpus = os.sysconf("SC_NPROCESSORS_ONLN")  # what gtm-dnsd counts
    if cpus >= 256:
        pytest.skip("--threads takes at most 256")
    srv = start(dnsd, shared_store.db, threads=cpus + 1)
    srv.daemon.wait_log(r"; UDP steered by hash\n")
    assert re.search(rf"UDP steered by hash, not by CPU: more threads \({cpus + 1}\) than "
                     rf"CPUs \({cpus}\)", srv.log())
    senders = sorted(os.sched_getaffinity(0))[:2]
    for cpu in senders:
        queries_from(srv, cpu)
    assert sum(udp_by_thread(srv)) == len(senders) * PORTS * PER_PORT


def test_back_to_hash_when_one_workers_socket_overflows(shared_store, dnsd):
    a, _ = two_cpus()
    # a small receive buffer (8 KiB once the kernel doubles it) holds two of the
    # 3,000-byte datagrams below: a burst from one CPU overflows worker 0's socket
    srv = start(dnsd, shared_store.db, "--udp-rcvbuf", "4096", threads=2)
    srv.daemon.wait_log(r"; UDP steered by CPU\n")
    saved = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {a})
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for _ in range(1000):
            s.sendto(b"\0" * 3000, ("127.0.0.1", srv.port))
        s.close()
    finally:
        os.sched_setaffinity(0, saved)
    m = srv.daemon.wait_log(r"UDP steered by hash from now on, not by CPU: .*\(datagrams "
                            r"dropped by thread: (\d+) (\d+)\)")
    assert int(m.group(1)) > 0 and int(m.group(2)) == 0, m.group(0)
    # from now on one CPU's queries are spread by the hash (one at a time: the small
    # buffer holds few)
    before = udp_by_thread(srv)
    queries_from(srv, a, per_port=1, burst=False)
    after = udp_by_thread(srv)
    assert min(x - y for x, y in zip(after, before)) > 0, (before, after)
