"""Draining a region end to end: `gtmctl drain eu --over 3s` lowers eu's weights in 10
steps of 0.3 s; the weighted name w.example.com (sticky: each client subnet keeps its
endpoint; eu 100 + 100 against us 200, so eu starts with half of the clients) gives eu
a falling share of 500 ECS clients, step by step, none at the end; gtmctl status shows
the progress; `gtmctl drain rm eu` gives every client its endpoint back.

With rendezvous hashing a lower weight only ever moves clients away from eu, so each
round of answers must give eu a subset of the clients of the round before."""
import re
import time

from backends import backends  # noqa: F401 (fixture)
from failover_util import EU1, EU2, US1, W, fstore, stack, status_rows  # noqa: F401
from policy_util import TYPE_A, bulk_ask, query

CLIENTS = [f"10.{i // 250}.{i % 250}.0" for i in range(500)]
OVER_S = 3.0
STEPS = 10


def round_of_answers(s):
    """{client subnet: the address answered} for every client, and when it was asked
    (the middle of the round, time.monotonic())."""
    t0 = time.monotonic()
    rs = bulk_ask(s.client, [query(W, ecs=(c, 24)) for c in CLIENTS])
    t1 = time.monotonic()
    out = {}
    for c, r in zip(CLIENTS, rs):
        assert r.rcode == 0 and len(r.answer) == 1 and r.answer[0][0] == TYPE_A, r.answer
        assert r.answer[0][1] == 30  # a drain is no failure: the full TTL
        out[c] = r.answer[0][2]
    return out, (t0 + t1) / 2, t1 - t0


def eu_clients(answers):
    return {c for c, a in answers.items() if a in (EU1, EU2)}


def expected_share(step):
    """eu's share of the clients at a drain step (1..10): weights 200 f against 200."""
    f = 1 - step / STEPS
    return f / (f + 1)


def test_drain_region_in_steps(stack):
    s = stack()
    start, _, _ = round_of_answers(s)
    eu0 = eu_clients(start)
    assert 0.42 < len(eu0) / len(CLIENTS) < 0.58, len(eu0)
    assert set(start.values()) == {EU1, EU2, US1}

    s.g.run("drain", "eu", "--over", "3s")
    t_cmd = time.monotonic()
    started, until = s.sql("SELECT started, until FROM drains")[0]
    assert until - started == 3000
    # the store's clock (ms since the epoch) to ours
    t_start = t_cmd - (time.time() * 1000 - started) / 1000

    rounds, statuses = [], []
    while True:
        answers, t, spread = round_of_answers(s)
        rounds.append((t - t_start, spread, eu_clients(answers)))
        if rounds[-1][0] < OVER_S:
            statuses.append(status_rows(s.g, "web")[1])
        if t - t_start > OVER_S + 0.4:
            break
    levels = [len(eu) for _, _, eu in rounds]
    # never a client back to eu while the weights fall
    for (t_a, _, a), (t_b, _, b) in zip(rounds, rounds[1:]):
        assert b <= a, f"clients moved back to eu between {t_a:.2f} s and {t_b:.2f} s: " \
                       f"{sorted(b - a)[:5]}"
    # the first step at once (from gtm-dnsd's next look at the store, 0.1 s at most),
    # then falling in steps: several distinct levels
    first = [len(eu) for t, spread, eu in rounds if t - spread / 2 > 0.15][0]
    assert first < len(eu0), f"no step at once: {levels}"
    assert len(set(levels)) >= 5, f"eu's share over time: {levels}"
    # where a round lay well inside one step, eu's share is that step's
    for t, spread, eu in rounds:
        step = int(t * STEPS / OVER_S) + 1
        inside = t - spread / 2 - 0.15 > (step - 1) * OVER_S / STEPS and \
            t + spread / 2 < step * OVER_S / STEPS
        if step <= STEPS and inside:
            share = len(eu) / len(CLIENTS)
            assert abs(share - expected_share(step)) < 0.08, \
                f"at {t:.2f} s (step {step}) eu has {share:.2f}, expected " \
                f"{expected_share(step):.2f}: {[(round(t, 2), len(e)) for t, _, e in rounds]}"
    # done: no client gets eu
    assert levels[-1] == 0, levels
    final, _, _ = round_of_answers(s)
    assert set(final.values()) == {US1}

    # gtmctl status showed the progress, step by step
    progress = []
    for other in statuses:
        m = [re.match(r"drain eu: (\d+)/10 steps, weights at (\d+)%", l) for l in other]
        m = [x for x in m if x]
        if not m:  # asked in the last moment: done already
            assert [l for l in other if l.startswith("drain eu: done at ")], other
            continue
        progress.append((int(m[0][1]), int(m[0][2])))
    assert progress == sorted(progress) and len(set(progress)) >= 3, progress
    assert all(pct == 100 - 10 * step for step, pct in progress), progress
    rows, other = status_rows(s.g, "web")
    assert rows[f"web/{EU1}"]["weight"] == "100 -> 0 (drained eu)"
    assert [l for l in other if l.startswith("drain eu: ")][0].startswith("drain eu: done at ")

    # drain rm: every client has its endpoint of before the drain again
    s.g.run("drain", "rm", "eu")
    t0 = time.monotonic()
    while True:
        back, _, _ = round_of_answers(s)
        if back == start:
            break
        assert time.monotonic() - t0 < 1.0, "drain rm: answers not back within 1 s"
    assert s.events()[-2:] == [(f"web/{EU1}", "drain", "weight 0 (drain)", "weight 100",
                                "drain stopped"),
                               (f"web/{EU2}", "drain", "weight 0 (drain)", "weight 100",
                                "drain stopped")]
