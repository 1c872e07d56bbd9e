#!/usr/bin/env python3
"""bench/benchtool.py COMMAND ... — the measuring half of the bench/ scripts.

The shell scripts (bench/peers.sh, and bench/run.sh of issue 6) start the servers and
decide what to run; this file does what is awkward in bash: probing ports and answers,
timing a dnsperf run while reading the server's CPU time from /proc, and turning the
runs into tables of medians. Standard library only, except `answers`/`wait-answer`,
which use dnspython (Debian python3-dnspython).

  free-port START [--not P]...    first port >= START free on 127.0.0.1, UDP and TCP
  tree PID                        PID and its descendants, one a line
  owners PORT PID...              fails unless every socket bound to 127.0.0.1:PORT
                                  belongs to the process trees of the PIDs
  wait-answer PORT QNAME QTYPE SECONDS --pid PID
                                  waits until the server answers NOERROR with AA and
                                  an answer (fails if PID exits or time runs out)
  answers PORT QUERYFILE          one canonical line per query of a dnsperf file
  answers-wire PORT WIREFILE EXPECT [--sample N] [--out F]
                                  checks a sample of a dnsperf -B file's answers
                                  against bench/fixture.py's expectations
  flip PORT QNAME --ecs NET --before ADDRS -- COMMAND...
                                  times how long after COMMAND (a health change in
                                  the store) the answer for QNAME stops being ADDRS
  measure --server PID --out F --stats F --hard-limit S -- COMMAND...
                                  runs COMMAND (dnsperf) and writes key=value stats:
                                  wall time, CPU time of the server tree and of the
                                  command, their busiest threads, and the whole machine
  parse-dnsperf FILE              dnsperf's statistics as key=value lines
  lacking RUNS.tsv --min N         the modes where a server has < N clean runs
  report RUNS.tsv --meta F [--out F]  (meta: key<TAB>value lines)
                                  tables of medians per mode and server, and ratios

CPU time is utime+stime from /proc/PID/stat (which sums all threads of a process),
summed over the server's process tree, in clock ticks (os.sysconf SC_CLK_TCK, 100 on
Debian: 10 ms resolution, about 1% of a 10 s run at 20k qps). The command's own CPU
time comes from wait4()'s rusage of that child: the same kernel counters, read at
exit, when /proc no longer has it.
"""
import argparse
import collections
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1
SAMPLE_S = 0.5  # how often measure samples per-thread CPU (a poll costs ~1 ms)


def die(msg):
    print(f"benchtool: {msg}", file=sys.stderr)
    sys.exit(1)


# ---- /proc --------------------------------------------------------------------------

def stat_fields(path):
    """The fields of a /proc/.../stat file after the command name (which may hold
    spaces and parentheses): [state, ppid, ...]; None if the task is gone."""
    try:
        with open(path) as f:
            text = f.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return text[text.rindex(")") + 2:].split()


def ticks(fields):
    """utime + stime (fields 14 and 15 of stat(5)) in clock ticks."""
    return int(fields[11]) + int(fields[12])


def tree(root):
    """root and all its descendants that are alive now."""
    children = collections.defaultdict(list)
    for name in os.listdir("/proc"):
        if name.isdigit():
            f = stat_fields(f"/proc/{name}/stat")
            if f:
                children[int(f[1])].append(int(name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        if os.path.exists(f"/proc/{pid}"):
            out.append(pid)
            todo.extend(children.get(pid, []))
    return out


def tree_ticks(root):
    """CPU ticks of every process of root's tree (each process's stat counts all its
    threads, live and exited)."""
    total = 0
    for pid in tree(root):
        f = stat_fields(f"/proc/{pid}/stat")
        if f:
            total += ticks(f)
    return total


def tree_wakeups(root):
    """Voluntary context switches of every thread of root's tree: how often its threads
    went to sleep (in epoll_wait, recvmmsg...) and were woken again. Threads that exit
    take theirs with them; servers' workers live as long as the server."""
    total = 0
    for pid in tree(root):
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except FileNotFoundError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/status") as f:
                    total += sum(int(line.split()[1]) for line in f
                                 if line.startswith("voluntary_ctxt_switches:"))
            except (FileNotFoundError, ProcessLookupError):
                continue
    return total


def thread_ticks(pids):
    """{(pid, tid): ticks} of every thread of the given processes."""
    out = {}
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except FileNotFoundError:
            continue
        for tid in tids:
            f = stat_fields(f"/proc/{pid}/task/{tid}/stat")
            if f:
                out[(pid, int(tid))] = ticks(f)
    return out


def cpu_ticks():
    """[(not idle, total)] ticks of each CPU from /proc/stat. Steal counts as not idle:
    the CPU had work, the hypervisor ran someone else's."""
    out = []
    with open("/proc/stat") as f:
        for line in f:
            if re.match(r"cpu\d+ ", line):
                v = [int(x) for x in line.split()[1:]]
                out.append((sum(v[:8]) - v[3] - v[4], sum(v[:8])))
    return out


def machine_ticks():
    """(busy, steal, total) ticks of all CPUs from /proc/stat. Busy is what ran here:
    not idle, iowait, or steal (time the hypervisor gave to another guest)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    total = sum(v[:8])  # user nice system idle iowait irq softirq steal (guest is in user)
    return total - v[3] - v[4] - v[7], v[7], total


def busiest(first, last, seconds):
    """The highest CPU share (percent of one core) of any thread between two
    thread_ticks samples taken seconds apart."""
    if seconds <= 0:
        return 0.0
    best = 0
    for key, t in last.items():
        if key in first:
            best = max(best, t - first[key])
    return 100.0 * best / CLK_TCK / seconds


# ---- ports --------------------------------------------------------------------------

def port_free(port):
    """Can we bind 127.0.0.1:port for UDP and TCP, without SO_REUSEPORT? (gtm-dnsd and
    Knot bind with SO_REUSEPORT, so a second server on a taken port would start and
    silently share the traffic.)"""
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def cmd_free_port(args):
    for port in range(args.start, min(args.start + 2000, 65536)):
        if port not in args.not_ and port != 53 and port_free(port):
            print(port)
            return
    die(f"no free port in {args.start}..{args.start + 1999}")


def socket_inodes(port):
    """Inodes of UDP sockets and listening TCP sockets bound to 127.0.0.1:port or the
    wildcard address."""
    want = {f"0100007F:{port:04X}", f"00000000:{port:04X}"}
    out = set()
    for table, listen_only in (("udp", False), ("tcp", True)):
        with open(f"/proc/net/{table}") as f:
            next(f)
            for line in f:
                p = line.split()
                if p[1] in want and (not listen_only or p[3] == "0A"):
                    out.add(p[9])
    return out


def cmd_owners(args):
    ours = set()
    for root in args.pids:
        for pid in tree(root):
            try:
                for fd in os.listdir(f"/proc/{pid}/fd"):
                    try:
                        link = os.readlink(f"/proc/{pid}/fd/{fd}")
                    except OSError:
                        continue
                    if link.startswith("socket:["):
                        ours.add(link[8:-1])
            except FileNotFoundError:
                pass
    inodes = socket_inodes(args.port)
    if not inodes:
        die(f"nothing is bound to 127.0.0.1:{args.port}")
    strangers = inodes - ours
    if strangers:
        die(f"127.0.0.1:{args.port} is shared with {len(strangers)} socket(s) of another "
            f"process: its traffic would be split (pick another PORT_BASE)")


# ---- DNS probes ---------------------------------------------------------------------

def dns_modules():
    try:
        import dns.exception
        import dns.flags
        import dns.message
        import dns.query
        import dns.rcode
        import dns.rdatatype
        return dns
    except ImportError:
        die("dnspython is missing: apt-get install python3-dnspython (and run this "
            "with /usr/bin/python3)")


def cmd_wait_answer(args):
    dns = dns_modules()
    deadline = time.monotonic() + args.seconds
    last = "no answer"
    while time.monotonic() < deadline:
        if not os.path.exists(f"/proc/{args.pid}") or (
                (stat_fields(f"/proc/{args.pid}/stat") or ["Z"])[0] == "Z"):
            die(f"the server (pid {args.pid}) exited before answering")
        q = dns.message.make_query(args.qname, args.qtype)
        try:
            r = dns.query.udp(q, "127.0.0.1", port=args.port, timeout=0.2)
            if (r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA and r.answer):
                return
            last = f"{dns.rcode.to_text(r.rcode())}, {len(r.answer)} answer RRsets"
            time.sleep(0.05)
        except (dns.exception.Timeout, OSError) as e:
            last = f"{e.__class__.__name__}"
            time.sleep(0.05)
    die(f"127.0.0.1:{args.port} gave no answer for {args.qname} {args.qtype} within "
        f"{args.seconds} s (last: {last})")


def cmd_answers(args):
    """What a server answers to each query of a dnsperf query file, as comparable text:
    rcode, flags, and every section's records sorted, plus the response size."""
    dns = dns_modules()
    with open(args.queryfile) as f:
        queries = [line.split() for line in f if line.strip() and not line.startswith("#")]
    for qname, qtype in queries:
        q = dns.message.make_query(qname, qtype, use_edns=False)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(2.0)
            s.connect(("127.0.0.1", args.port))
            s.send(q.to_wire())
            try:
                wire = s.recv(65535)
            except OSError as e:
                print(f"{qname} {qtype}: no response ({e.__class__.__name__})")
                continue
        r = dns.message.from_wire(wire)
        sections = []
        for name in ("answer", "authority", "additional"):
            rrs = sorted(f"{rrset.name} {rrset.ttl} {dns.rdatatype.to_text(rrset.rdtype)} {rd}"
                         for rrset in getattr(r, name) for rd in rrset)
            sections.append(f"{name}=[{'; '.join(rrs)}]")
        print(f"{qname} {qtype}: {dns.rcode.to_text(r.rcode())} "
              f"{dns.flags.to_text(r.flags)} {' '.join(sections)} {len(wire)} bytes")


def read_wire(path):
    """The messages of a dnsperf -B file (2-byte length, then the message)."""
    with open(path, "rb") as f:
        data = f.read()
    out, pos = [], 0
    while pos + 2 <= len(data):
        n = int.from_bytes(data[pos:pos + 2], "big")
        out.append(data[pos + 2:pos + 2 + n])
        pos += 2 + n
    return out


def cmd_answers_wire(args):
    """Sends a sample of a dnsperf -B file's queries and checks each response against
    the expectation bench/fixture.py wrote (rcode and answer addresses; '*' takes any
    address). Writes one canonical line per query to --out (rcode and addresses, no
    scope, so two servers' files can be compared with diff), prints a summary with the
    ECS scopes seen, and fails if any response differs from the expectation."""
    dns = dns_modules()
    import dns.edns  # noqa: F401 (ECS option parsing)
    wires = read_wire(args.wirefile)
    with open(args.expect) as f:
        expect = [line.rstrip("\n").split("\t") for line in f]
    if len(expect) != len(wires):
        die(f"{args.expect}: {len(expect)} lines for {len(wires)} queries in {args.wirefile}")
    idx = list(range(len(wires)))
    if args.sample and args.sample < len(idx):
        import random
        idx = sorted(random.Random(args.seed).sample(idx, args.sample))
    bad, scopes, lines = [], collections.Counter(), []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2.0)
        s.connect(("127.0.0.1", args.port))
        for n, i in enumerate(idx):
            qid = n % 65536
            s.send(qid.to_bytes(2, "big") + wires[i][2:])
            try:
                while True:
                    wire = s.recv(65535)
                    if wire[:2] == qid.to_bytes(2, "big"):
                        break
            except OSError as e:
                bad.append(f"query {i} ({expect[i][1]} from {expect[i][3]}): no response "
                           f"({e.__class__.__name__})")
                lines.append(f"{i}\tno response")
                continue
            r = dns.message.from_wire(wire)
            rcode = dns.rcode.to_text(r.rcode())
            addrs = sorted(str(rd) for rrset in r.answer for rd in rrset
                           if rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA))
            ecs = [o for o in r.options if o.otype == 8]
            scope = ecs[0].scopelen if ecs else None
            if expect[i][3] != "-":
                scopes[scope] += 1
            _i, qname, qtype, client, want_rcode, want = expect[i][:6]
            got = ",".join(addrs)
            if rcode != want_rcode or (want != "*" and got != want):
                bad.append(f"query {i} ({qname} {qtype} from {client}): {rcode} [{got}], "
                           f"expected {want_rcode} [{want}]")
            lines.append(f"{i}\t{qname}\t{qtype}\t{client}\t{rcode}\t{got}")
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")
    known = sorted((k for k in scopes if k is not None))
    scope_text = ", ".join(f"/{k} x{scopes[k]}" for k in known[:4])
    if len(known) > 4:
        scope_text += f", ... /{known[-1]} x{scopes[known[-1]]}"
    if scopes[None]:
        scope_text += f"; no ECS echoed x{scopes[None]}"
    print(f"{len(idx) - len(bad)} of {len(idx)} sampled queries answered as expected; "
          f"ECS scopes: {scope_text or 'none'}")
    for b in bad[:10]:
        print(f"  {b}", file=sys.stderr)
    if bad:
        sys.exit(1)


def cmd_flip(args):
    """Asks QNAME (with an ECS option for --ecs) over and over, about every --interval
    ms, runs COMMAND once the answer is --before, and times the first answer that is no
    longer --before: from the command's start (an upper bound of the delay: the commit
    happens while it runs) and from its return (a lower bound, once committed). Writes
    key=value lines; fails if the answer does not change within --timeout seconds."""
    dns = dns_modules()
    import dns.edns
    net = ipaddress_network(args.ecs)
    opt = dns.edns.ECSOption(str(net.network_address), net.prefixlen, 0)
    q = dns.message.make_query(args.qname, "A")
    q.use_edns(edns=0, payload=1232, options=[opt])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(("127.0.0.1", args.port))
    s.settimeout(0.5)
    qid = 0

    def ask():
        nonlocal qid
        qid = (qid + 1) % 65536
        q.id = qid
        t = time.monotonic()
        s.send(q.to_wire())
        while True:
            try:
                wire = s.recv(65535)
            except socket.timeout:
                return t, None
            if wire[:2] == qid.to_bytes(2, "big"):
                r = dns.message.from_wire(wire)
                return t, ",".join(sorted(str(rd) for rr in r.answer for rd in rr))

    deadline = time.monotonic() + 10
    while True:
        _, got = ask()
        if got == args.before:
            break
        if time.monotonic() > deadline:
            die(f"flip: {args.qname} from {args.ecs} answers {got}, not {args.before}, "
                "before the change")
        time.sleep(0.05)
    t_start = time.monotonic()
    proc = subprocess.Popen(args.command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    t_end = None
    prev = t_start
    lost = asked = 0
    while True:
        if t_end is None and proc.poll() is not None:
            t_end = time.monotonic()
            if proc.returncode != 0:
                die(f"flip: {' '.join(args.command)} failed: {proc.stderr.read().decode()}")
        t, got = ask()
        asked += 1
        if got is None:
            lost += 1
        elif got != args.before:
            break
        prev = t
        if t - t_start > args.timeout:
            proc.kill()
            die(f"flip: the answer was still {args.before} {args.timeout} s after the change")
        time.sleep(args.interval / 1000)
    if t_end is None:
        proc.wait()
        t_end = time.monotonic()
    print(f"answer_after={got}")
    print(f"command_ms={1000 * (t_end - t_start):.1f}")
    print(f"from_start_ms={1000 * (t - t_start):.1f}")
    print(f"from_return_ms={1000 * (t - t_end):.1f}")
    print(f"resolution_ms={1000 * (t - prev):.1f}")
    print(f"probes={asked}")
    print(f"probes_unanswered={lost}")


def ipaddress_network(text):
    import ipaddress
    return ipaddress.ip_network(text, strict=False)


# ---- measure ------------------------------------------------------------------------

def cmd_measure(args):
    """Runs the command with stdout+stderr to --out, and writes its stats to --stats.
    SIGTERM/SIGINT/SIGHUP stop the command too; --hard-limit kills it if it overruns."""
    child = None

    def stop(signum, _frame):
        if child and child.poll() is None:
            child.kill()
        sys.exit(128 + signum)

    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, stop)

    mach0, cpus0 = machine_ticks(), cpu_ticks()
    srv0, wake0 = tree_ticks(args.server), tree_wakeups(args.server)
    t0 = time.monotonic()
    with open(args.out, "wb") as out:
        child = subprocess.Popen(args.command, stdout=out, stderr=subprocess.STDOUT)
    deadline = t0 + args.hard_limit
    first = last = None  # (time, server threads, command threads)
    killed = False
    status = rusage = None
    while True:
        pid, status, rusage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        now = time.monotonic()
        if now > deadline and not killed:
            child.kill()
            killed = True
        srv_pids = tree(args.server)
        sample = (now, thread_ticks(srv_pids), thread_ticks([child.pid]))
        # the first sample a little after the start: dnsperf spends its first moments
        # reading the query file and opening sockets
        if first is None and now - t0 >= SAMPLE_S:
            first = sample
        elif first is not None:
            last = sample
        time.sleep(SAMPLE_S / 5 if first is None else SAMPLE_S)
    t1 = time.monotonic()
    srv1, wake1 = tree_ticks(args.server), tree_wakeups(args.server)
    mach1, cpus1 = machine_ticks(), cpu_ticks()
    child.returncode = os.waitstatus_to_exitcode(status)

    wall = t1 - t0
    srv_cpu = (srv1 - srv0) / CLK_TCK
    cmd_cpu = rusage.ru_utime + rusage.ru_stime
    mach_total = max(1, mach1[2] - mach0[2])
    mach_busy = (mach1[0] - mach0[0]) / mach_total * 100.0 * NCPU
    steal = (mach1[1] - mach0[1]) / mach_total * 100.0 * NCPU
    stats = {
        "exit": child.returncode,
        "killed": int(killed),
        "wall_s": f"{wall:.3f}",
        "server_cpu_s": f"{srv_cpu:.3f}",
        "server_cpu_pct": f"{100 * srv_cpu / wall:.1f}",
        "server_procs": len(tree(args.server)),
        "server_wakeups": wake1 - wake0,
        "dnsperf_cpu_s": f"{cmd_cpu:.3f}",
        "dnsperf_cpu_pct": f"{100 * cmd_cpu / wall:.1f}",
        # percent of one core; NCPU cores give NCPU*100
        "machine_busy_pct": f"{mach_busy:.1f}",
        "other_pct": f"{max(0.0, mach_busy - 100 * (srv_cpu + cmd_cpu) / wall):.1f}",
        "steal_pct": f"{steal:.1f}",
        # how much of the time each CPU was not idle (0-100, steal included),
        # slash-separated: cpu0/cpu1/...
        "cpu_nonidle_pct": "/".join(f"{100 * (b1 - b0) / max(1, t1 - t0):.0f}"
                                 for (b0, t0), (b1, t1) in zip(cpus0, cpus1)),
    }
    if first and last and last[0] > first[0]:
        span = last[0] - first[0]
        stats["server_top_thread_pct"] = f"{busiest(first[1], last[1], span):.1f}"
        stats["dnsperf_top_thread_pct"] = f"{busiest(first[2], last[2], span):.1f}"
    else:
        stats["server_top_thread_pct"] = stats["dnsperf_top_thread_pct"] = "nan"
    with open(args.stats, "w") as f:
        for k, v in stats.items():
            f.write(f"{k}={v}\n")
    sys.exit(child.returncode)


# ---- dnsperf output -----------------------------------------------------------------

DNSPERF_PATTERNS = {
    "sent": r"Queries sent:\s+(\d+)",
    "completed": r"Queries completed:\s+(\d+)",
    "lost": r"Queries lost:\s+(\d+)",
    "rcodes": r"Response codes:\s+(.*)",
    "req_bytes": r"Average packet size:\s+request (\d+)",
    "resp_bytes": r"Average packet size:.*response (\d+)",
    "run_s": r"Run time \(s\):\s+([\d.]+)",
    "qps": r"Queries per second:\s+([\d.]+)",
    "lat_avg_s": r"Average Latency \(s\):\s+([\d.]+)",
    "lat_min_s": r"Average Latency \(s\):.*min ([\d.]+)",
    "lat_max_s": r"Average Latency \(s\):.*max ([\d.]+)",
    "lat_sd_s": r"Latency StdDev \(s\):\s+([\d.]+)",
}


def parse_dnsperf(text):
    out = {}
    for key, pat in DNSPERF_PATTERNS.items():
        m = re.search(pat, text)
        out[key] = m.group(1).strip() if m else ""
    return out


def percentiles(text):
    """Latency percentiles from dnsperf -v's line per response ("> NOERROR NAME TYPE
    0.000123", the latency in seconds last): p50, p90, p99 and p99.9, or nothing when
    the run was not verbose."""
    lat = []
    for line in text.splitlines():
        if line.startswith("> "):
            try:
                lat.append(float(line.rsplit(None, 1)[1]))
            except (IndexError, ValueError):
                pass
    if not lat:
        return {}
    lat.sort()
    pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]  # noqa: E731
    return {"lat_p50_s": f"{pick(0.50):.6f}", "lat_p90_s": f"{pick(0.90):.6f}",
            "lat_p99_s": f"{pick(0.99):.6f}", "lat_p999_s": f"{pick(0.999):.6f}"}


def cmd_parse_dnsperf(args):
    with open(args.file, errors="replace") as f:
        text = f.read()
    stats = parse_dnsperf(text)
    stats.update(percentiles(text))
    if not stats["qps"] or not stats["completed"]:
        die(f"{args.file}: no statistics from dnsperf")
    for k, v in stats.items():
        print(f"{k}={v.replace(chr(9), ' ')}")


# ---- report -------------------------------------------------------------------------

def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def median(values):
    vals = [v for v in values if v == v]  # drop NaN
    return statistics.median(vals) if vals else float("nan")


def fmt(v, digits=1):
    if v != v:
        return "–"
    return f"{v:,.{digits}f}"


meta_pin = {"dnsperf": "0", "server": "1"}  # pinned CPUs, from the report's meta
NOISY_PCT = 20  # others + steal, percent of one core, above which a run is "noisy"
# Hypervisor steal (percent of one core) from which a run is not "clean": the host took
# the CPU from under the run, which inflates every figure of it unevenly. Medians and
# ratios are also given over clean runs only.
CLEAN_STEAL = float(os.environ.get("CLEAN_STEAL", 15))


def is_clean(run):
    return num(run.get("steal_pct")) < CLEAN_STEAL


def bottleneck(run, threads):
    """(category, detail) from bottleneck_of: the category is the text before the
    figures, which the summary counts over the rounds; the detail notes heavy
    hypervisor steal (a figure taken on a crowded host)."""
    text = bottleneck_of(run, threads)
    steal = num(run.get("steal_pct"))
    if steal >= 10 and text != "rate met":
        text += f"; steal {steal:.0f}%"
    return text.split(" (")[0], text


def is_noisy(run):
    """Did the rest of the machine (other processes, hypervisor steal) take at least
    NOISY_PCT of a core during the run?"""
    return num(run["other_pct"]) + num(run.get("steal_pct", 0)) >= NOISY_PCT


def bottleneck_of(run, threads):
    """Which process limited the run, from its CPU shares (percent of one core).
    A fixed-rate run that reached its rate was limited by the rate. Otherwise: a
    dnsperf thread near 100% of a core is dnsperf's limit (its sender is one thread);
    a server using nearly all of its threads' cores is the server's; both together
    filling every core means they share the machine's CPU, and the split says who
    used it."""
    qps, rate = num(run["qps"]), num(run["rate"])
    if rate == rate and qps >= 0.97 * rate:
        return "rate met"
    cores = NCPU if run["pinned"] != "yes" else 1
    srv, perf = num(run["server_cpu_pct"]), num(run["dnsperf_cpu_pct"])
    perf_top = num(run["dnsperf_top_thread_pct"])
    srv_cap = 100 * min(threads, cores)
    if run["pinned"] == "yes":
        # the CPUs' own busy figures say which core ran out (others' work included)
        busy = [num(x) for x in run.get("cpu_nonidle_pct", "").split("/") if x]
        pd, ps = int(meta_pin["dnsperf"]), int(meta_pin["server"])
        if max(pd, ps) < len(busy):
            bd, bs = busy[pd], busy[ps]
            if bd >= 95 and bs >= 95:
                return f"both cores full (dnsperf {perf:.0f}% / srv {srv:.0f}%)"
            if bd >= 95:
                return f"dnsperf's core full (dnsperf {perf:.0f}%, srv core {bs:.0f}% busy)"
            if bs >= 95:
                return f"server's core full (srv {srv:.0f}%, dnsperf core {bd:.0f}% busy)"
            return f"unclear (cores {bd:.0f}% / {bs:.0f}% busy)"
        return "unclear (no per-CPU figures)"
    if perf_top >= 90:
        return "dnsperf (a thread at 100%)"
    if srv >= 0.9 * srv_cap:
        return "server (its threads full)"
    busy = num(run["machine_busy_pct"]) + num(run.get("steal_pct", 0))
    others = num(run["other_pct"]) + num(run.get("steal_pct", 0))
    crowd = f", others {others:.0f}%" if others >= 20 else ""
    if busy >= 90 * NCPU:
        return f"shared CPU (srv {srv:.0f}% / dnsperf {perf:.0f}%{crowd})"
    return "unclear (CPU to spare)"


def cmd_report(args):
    with open(args.runs) as f:
        header = f.readline().rstrip("\n").split("\t")
        runs = [dict(zip(header, line.rstrip("\n").split("\t"))) for line in f if line.strip()]
    # meta: "key<TAB>value" lines (title, rounds, seconds, threads, servers) and
    # "fact<TAB>label<TAB>value" lines, printed as a list above the tables
    # and "target<TAB>peer[|peer]<TAB>sets<TAB>max ratio<TAB>text" lines (issue 6's
    # targets: the first server's µs/query over the peer's, the lower of a|b)
    meta = {"facts": [], "targets": []}
    with open(args.meta) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if parts[0] == "fact" and len(parts) == 3:
                meta["facts"].append((parts[1], parts[2]))
            elif parts[0] == "target" and len(parts) == 5:
                meta["targets"].append(parts[1:])
            elif len(parts) == 2:
                meta[parts[0]] = parts[1]
    threads = int(meta.get("threads", 2))
    meta_pin["dnsperf"] = meta.get("pin_dnsperf_cpu", "0")
    meta_pin["server"] = meta.get("pin_server_cpu", "1")
    servers = meta["servers"].split()
    modes = []
    for r in runs:
        if r["mode"] not in modes:
            modes.append(r["mode"])
        r["bottleneck_kind"], r["bottleneck"] = bottleneck(r, threads)
        r["noisy"] = "yes" if is_noisy(r) else ""
        # where a fixed rate's CPU goes: how often the server slept and was woken per
        # answer, and what each wake-up cost with the answers it brought
        wakes, done = num(r.get("server_wakeups")), num(r["completed"])
        r["wakeups_per_100"] = 100 * wakes / done if done > 0 else float("nan")
        r["us_per_wakeup"] = (num(r["server_cpu_s"]) * 1e6 / wakes if wakes > 0
                              else float("nan"))

    groups = collections.defaultdict(list)
    for r in runs:
        groups[(r["mode"], r["server"])].append(r)

    def med(mode, server, key):
        return median([num(r[key]) for r in groups[(mode, server)]])

    def medc(mode, server, key):
        return median([num(r[key]) for r in groups[(mode, server)] if is_clean(r)])

    def nclean(mode, server):
        return sum(1 for r in groups[(mode, server)] if is_clean(r))

    by_round = {(r["round"], r["mode"], r["server"]): r for r in runs}
    rounds = sorted({r["round"] for r in runs}, key=int)

    def paired(mode, base, cands, clean_only):
        """Median over the rounds of base's µs/query over the lowest of cands' in the
        same round (adjacent runs: the machine's state is as alike as it gets), and how
        many rounds gave a pair."""
        ratios = []
        for rd in rounds:
            a = by_round.get((rd, mode, base))
            bs = [by_round.get((rd, mode, p)) for p in cands]
            bs = [b for b in bs if b]
            if not a or not bs:
                continue
            if clean_only and not (is_clean(a) and all(is_clean(b) for b in bs)):
                continue
            x, y = num(a["us_per_query"]), min(num(b["us_per_query"]) for b in bs)
            if x == x and y == y and y > 0:
                ratios.append(x / y)
        return median(ratios), len(ratios)

    lines = []
    w = lines.append
    w(f"## {meta['title']}")
    w("")
    for k, v in meta["facts"]:
        w(f"- {k}: {v}")
    w("")
    w(f"Medians of {meta['rounds']} interleaved round(s) of {meta['seconds']} s per run. "
      "µs/query is the server's CPU time (user+sys, all threads and processes, from "
      "/proc) divided by the responses dnsperf received; lower is better. CPU % is of one "
      f"core ({NCPU} cores: {NCPU * 100}% is the whole machine); 'others' is what the "
      "rest of the machine used meanwhile (steal, the hypervisor's share, is left out of "
      "every figure and listed per run). A run is noisy when others and steal took "
      f"{NOISY_PCT}% of a core or more; the bottleneck is the most common verdict over "
      "the rounds, each run's own is in the last table.")
    w("")
    w("Wake-ups: the voluntary context switches of the server's threads (from /proc), "
      "each a sleep in the kernel until a query came; µs per wake-up is the server's CPU "
      "time over them, the answers each wake-up brought included.")
    w("")
    w("Latency: dnsperf's average and maximum over all responses; p50/p99/p99.9 from its "
      "line per response (-v), taken at fixed rates only.")
    w("")
    w(f"'clean' columns: the median over the runs with less than {CLEAN_STEAL:.0f}% steal "
      "(and how many there were).")
    w("")
    w("| mode | server | qps | µs/query | µs/query clean (runs) | avg latency ms | p50 ms | "
      "p99 ms | p99.9 ms | max latency ms | lost | resp bytes | server CPU % | dnsperf CPU % | "
      "dnsperf top thread % | others % | steal % | noisy runs | server wake-ups per 100 "
      "answers | server µs per wake-up | bottleneck |")
    w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
      "---:|---:|---|")
    for mode in modes:
        for s in servers:
            g = groups.get((mode, s))
            if not g:
                continue
            kind, n = collections.Counter(r["bottleneck_kind"] for r in g).most_common(1)[0]
            bn = kind if n == len(g) else f"{kind} ({n} of {len(g)})"
            noisy = sum(1 for r in g if r["noisy"])
            w(f"| {mode} | {s} | {fmt(med(mode, s, 'qps'), 0)} | "
              f"{fmt(med(mode, s, 'us_per_query'), 2)} | "
              f"{fmt(medc(mode, s, 'us_per_query'), 2)} ({nclean(mode, s)}) | "
              f"{fmt(1000 * med(mode, s, 'lat_avg_s'), 3)} | "
              f"{fmt(1000 * med(mode, s, 'lat_p50_s'), 3)} | "
              f"{fmt(1000 * med(mode, s, 'lat_p99_s'), 3)} | "
              f"{fmt(1000 * med(mode, s, 'lat_p999_s'), 3)} | "
              f"{fmt(1000 * med(mode, s, 'lat_max_s'), 2)} | "
              f"{fmt(med(mode, s, 'lost'), 0)} | {fmt(med(mode, s, 'resp_bytes'), 0)} | "
              f"{fmt(med(mode, s, 'server_cpu_pct'))} | "
              f"{fmt(med(mode, s, 'dnsperf_cpu_pct'))} | "
              f"{fmt(med(mode, s, 'dnsperf_top_thread_pct'))} | "
              f"{fmt(med(mode, s, 'other_pct'))} | {fmt(med(mode, s, 'steal_pct'))} | "
              f"{noisy}/{len(g)} | {fmt(med(mode, s, 'wakeups_per_100'))} | "
              f"{fmt(med(mode, s, 'us_per_wakeup'))} | {bn} |")
    w("")
    base = servers[0]
    peers = servers[1:]
    if peers:
        w(f"Ratios, {base} / peer: µs/query below 1.0 means {base} spends less CPU per "
          f"answer; qps above 1.0 means {base} answered more. 'medians': the ratio of the "
          "medians above; 'paired': the median over the rounds of the ratio of the two "
          "adjacent runs of a round; 'clean': the same over the rounds where both runs "
          f"had less than {CLEAN_STEAL:.0f}% steal (how many such rounds).")
        w("")
        cols = []
        for p in peers:
            cols += [f"µs/q {base}/{p} medians", f"paired", f"clean (rounds)"]
        cols += [f"qps {base}/{p}" for p in peers]
        w("| mode | " + " | ".join(cols) + " |")
        w("|---|" + "---:|" * len(cols))
        for mode in modes:
            cells = []
            for p in peers:
                a, b = med(mode, base, "us_per_query"), med(mode, p, "us_per_query")
                cells.append(fmt(a / b, 2) if b and b == b and a == a else "–")
                pr, _n = paired(mode, base, [p], False)
                cells.append(fmt(pr, 2))
                pc, nc = paired(mode, base, [p], True)
                cells.append(f"{fmt(pc, 2)} ({nc})" if nc else "–")
            for p in peers:
                a, b = med(mode, base, "qps"), med(mode, p, "qps")
                cells.append(fmt(a / b, 2) if b and b == b and a == a else "–")
            w(f"| {mode} | " + " | ".join(cells) + " |")
        w("")
    if meta["targets"]:
        w(f"Targets (issue 6): {base}'s µs/query over the peer's ('a|b': the lower of the "
          "two). Judged on the paired ratio over clean rounds when there are at least two, "
          "else over all rounds; the ratio of medians beside it.")
        w("")
        w("| target | mode | paired ratio (rounds) | ratio of medians | limit | met |")
        w("|---|---|---:|---:|---:|---|")
        for peer_spec, sets, limit, text in meta["targets"]:
            cands = [p for p in peer_spec.split("|") if p in peers]
            if not cands:
                continue
            for mode in modes:
                if mode.split("/")[0] not in sets.split():
                    continue
                a = med(mode, base, "us_per_query")
                vals = [(med(mode, p, "us_per_query"), p) for p in cands]
                vals = [(v, p) for v, p in vals if v == v]
                if not vals or a != a:
                    continue
                b, who = min(vals)
                ratio = a / b
                pc, nc = paired(mode, base, cands, True)
                if nc >= 2:
                    judged, how = pc, f"{pc:.2f} (clean, {nc})"
                else:
                    pa, na = paired(mode, base, cands, False)
                    judged, how = pa, f"{pa:.2f} (all, {na})"
                ok = "yes" if judged <= float(limit) else "**no**"
                w(f"| {text} | {mode} | {how} | {ratio:.2f} ({base}/{who}) | "
                  f"{float(limit):.2f} | {ok} |")
        w("")
    w("### Every run")
    w("")
    w(f"clean: less than {CLEAN_STEAL:.0f}% steal.")
    w("")
    cols = ["round", "mode", "server", "qps", "us_per_query", "completed", "lost",
            "lat_avg_s", "lat_p99_s", "lat_max_s", "server_cpu_pct", "server_top_thread_pct",
            "dnsperf_cpu_pct", "dnsperf_top_thread_pct", "other_pct", "steal_pct",
            "cpu_nonidle_pct", "load1", "noisy", "clean", "rcodes", "bottleneck"]
    w("| " + " | ".join(cols) + " |")
    w("|" + "---|" * len(cols))
    for r in runs:
        r["clean"] = "yes" if is_clean(r) else ""
        cells = [str(r.get(c, "")) for c in cols]
        cells[cols.index("qps")] = fmt(num(r["qps"]), 0)
        w("| " + " | ".join(cells) + " |")
    w("")
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


def cmd_lacking(args):
    """The modes (one a line) where some server has fewer than --min clean runs."""
    with open(args.runs) as f:
        header = f.readline().rstrip("\n").split("\t")
        runs = [dict(zip(header, line.rstrip("\n").split("\t"))) for line in f if line.strip()]
    count = collections.Counter()
    modes = []
    for r in runs:
        if r["mode"] not in modes:
            modes.append(r["mode"])
        count[(r["mode"], r["server"])] += 1 if is_clean(r) else 0
    servers = {r["server"] for r in runs}
    for m in modes:
        if any(count[(m, s)] < args.min for s in servers
               if any(r["mode"] == m and r["server"] == s for r in runs)):
            print(m)


# ---- main ---------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(prog="benchtool.py")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("free-port")
    p.add_argument("start", type=int)
    p.add_argument("--not", dest="not_", type=int, action="append", default=[])
    p.set_defaults(fn=cmd_free_port)
    p = sub.add_parser("tree")
    p.add_argument("pid", type=int)
    p.set_defaults(fn=lambda a: print("\n".join(map(str, tree(a.pid)))))
    p = sub.add_parser("owners")
    p.add_argument("port", type=int)
    p.add_argument("pids", type=int, nargs="+")
    p.set_defaults(fn=cmd_owners)
    p = sub.add_parser("wait-answer")
    p.add_argument("port", type=int)
    p.add_argument("qname")
    p.add_argument("qtype")
    p.add_argument("seconds", type=float)
    p.add_argument("--pid", type=int, required=True)
    p.set_defaults(fn=cmd_wait_answer)
    p = sub.add_parser("answers")
    p.add_argument("port", type=int)
    p.add_argument("queryfile")
    p.set_defaults(fn=cmd_answers)
    p = sub.add_parser("answers-wire")
    p.add_argument("port", type=int)
    p.add_argument("wirefile")
    p.add_argument("expect")
    p.add_argument("--sample", type=int, default=0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out")
    p.set_defaults(fn=cmd_answers_wire)
    p = sub.add_parser("flip")
    p.add_argument("port", type=int)
    p.add_argument("qname")
    p.add_argument("--ecs", required=True)
    p.add_argument("--before", required=True)
    p.add_argument("--timeout", type=float, default=10)
    p.add_argument("--interval", type=float, default=1, help="ms between probes")
    p.add_argument("command", nargs="+")
    p.set_defaults(fn=cmd_flip)
    p = sub.add_parser("measure")
    p.add_argument("--server", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--stats", required=True)
    p.add_argument("--hard-limit", type=float, required=True)
    p.add_argument("command", nargs="+")
    p.set_defaults(fn=cmd_measure)
    p = sub.add_parser("parse-dnsperf")
    p.add_argument("file")
    p.set_defaults(fn=cmd_parse_dnsperf)
    p = sub.add_parser("lacking")
    p.add_argument("runs")
    p.add_argument("--min", type=int, required=True)
    p.set_defaults(fn=cmd_lacking)
    p = sub.add_parser("report")
    p.add_argument("runs")
    p.add_argument("--meta", required=True)
    p.add_argument("--out")
    p.set_defaults(fn=cmd_report)
    args = ap.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
