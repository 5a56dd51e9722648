"""Churn soak (bounded: SOAK_S seconds of load, 90 by default, at 300 new connections/s): while
the load runs, rounds of backend add -> drain -> remove, drain + undrain, kill -9 of a server and
its restart, and a daemon restart every other round, with three CLI processes changing and
reading things at the same time. Then: every failed request is one a kill explains -- its
connection reached the killed backend (its SYN is in that backend's packet log, by client
port) while it was in flight at the kill or placed there before the daemon took the backend out
(its DOWN in the log); every CLI command succeeded; no leaked pins or daemon fds; status agrees
with the maps (a backend is in the ring exactly when the pools give it a weight)."""
import collections
import os
import threading
import time

from daemonchecks import log_times, report
from lib import HttpLoad, TcpLog, now_ms, wait_until
from test_daemon import serve, start

SOAK_S = int(os.environ.get("XDM_SOAK", "90"))
TIMEOUT_MS = 3000   # the load's per-request time-out: how long a request can be in flight


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_churn_soak(e2e):
    t, lb = start(e2e)
    b1, b2, b3, b4 = t.backends
    serve(e2e, t, 4)
    log = e2e.path("daemon.log")
    daemon = lb.daemon(log)
    daemon.wait_output(f"daemon for {t.bridge}", 5)
    wait_until(lambda: [b["health"] for b in lb.status()["backends"]], 5, "three up",
               ok=lambda h: h == ["up"] * 3)
    pin_dir = os.path.join(lb.pin_root, t.bridge)
    pins = sorted(os.listdir(pin_dir))

    stop = threading.Event()
    cli_errors, cli_runs = [], [0]
    commands = [
        [("health", "--slow-start", "1"), ("health", "--slow-start", "0")],
        [("status", "--json"), ("backend", "list", "--json")],
        [("scheduler", "maglev"), ("service", "list", "--json")],
    ]

    def cli(k):
        i = 0
        while not stop.is_set() and i < 2000:
            args = commands[k][i % 2]
            r = lb(*args, check=False, timeout=30)
            cli_runs[0] += 1
            if not r.ok:
                cli_errors.append((args, r.err.strip()))
            i += 1
            time.sleep(0.2)
    threads = [threading.Thread(target=cli, args=(k,), daemon=True) for k in range(3)]

    reach = {b.name: TcpLog(e2e, b.ns, b.name, SOAK_S + 40) for b in (b1, b2, b3, b4)}
    load = HttpLoad(e2e, t.client, t.vip, name="soak", duration=SOAK_S, rate=300, concurrency=64,
                    timeout_ms=TIMEOUT_MS)
    for th in threads:
        th.start()
    kills, rounds, restarts = [], 0, 0
    timeline = []   # (ms since the load's t0, what the test did): names what came before a failure

    def mark(what):
        timeline.append((now_ms() - load.t0, what))
    end = load.t0 + (SOAK_S - 12) * 1000
    try:
        while now_ms() < end and rounds < 20:
            rounds += 1
            mark("add b4")
            lb("backend", "add", b4.ip)
            time.sleep(2)
            for b in (b4, b1):
                mark(f"drain {b.name}")
                lb("backend", "drain", b.ip)
                wait_until(lambda: lb.backend(b.ip)["drain_end"], 15, f"{b.name}'s drain to end",
                           ok=lambda e: e != "")
                mark(f"{b.name}'s drain ended")
            mark("remove b4")
            lb("backend", "remove", b4.ip)
            mark("undrain b1")
            lb("backend", "undrain", b1.ip)
            mark("kill -9 b2's server")
            kills.append(now_ms())
            t.nginx[2].kill9()
            time.sleep(1.5)
            mark("start b2's server")
            serve(e2e, t, 2)
            wait_until(lambda: lb.backend(b2.ip)["health"], 5, "b2 up again", ok=lambda h: h == "up")
            mark("b2 up")
            if rounds % 2 == 0:
                mark("daemon restart")
                daemon.stop()
                mark_at = os.path.getsize(log)
                daemon = lb.daemon(log)
                restarts += 1
                daemon.wait_output(f"daemon for {t.bridge}", 5, since=mark_at)
                mark("daemon up")
            time.sleep(1)
        fd_start = fds(daemon.pid)
        time.sleep(3)
    finally:
        stop.set()
        for th in threads:
            th.join(timeout=40)
    load.wait()
    fd_end = fds(daemon.pid)

    for tl in reach.values():
        tl.stop()
    # Each kill's detection: the daemon's first DOWN of b2 after it (every daemon of the run
    # appends to one log).
    with open(log, errors="replace") as f:
        text = f.read()
    downs = [min(log_times(text, rf"{b2.ip}:80.*is DOWN", k, k + 10000), default=None) for k in kills]

    def reached(r, name):
        at = load.t0 + r.start_ms
        return r.port and reach[name].saw_syn(r.port, at - 50, at + r.dur_ms + 50)

    def explained(r):
        """Reached b2, and started while b2 was dying: in flight at its kill (at most the
        time-out before it) or placed on it before the daemon's DOWN."""
        at = load.t0 + r.start_ms
        return reached(r, "b2") and any(d is not None and k - TIMEOUT_MS <= at <= d
                                        for k, d in zip(kills, downs))
    stray = [r for r in load.failures() if not explained(r)]
    at_kills = load.failed() - len(stray)
    detections = [d - k for k, d in zip(kills, downs) if d is not None]
    kinds = collections.Counter(r.result for r in load.failures())
    started_before = sum(1 for r in load.failures() if explained(r) and
                         any(load.t0 + r.start_ms < k for k in kills if k - TIMEOUT_MS <= load.t0 + r.start_ms))
    report(e2e, f"soak: {SOAK_S} s, {rounds} rounds ({len(kills)} kills, {restarts} daemon restarts), "
                f"{load.total()} requests, {load.failed()} failed ({at_kills} reached the killed server "
                f"before its DOWN, {started_before} of them started before the kill; {len(stray)} otherwise; {dict(kinds)}), detection {min(detections, default=0)}-"
                f"{max(detections, default=0)} ms, {cli_runs[0]} concurrent CLI commands, "
                f"{len(cli_errors)} failed, daemon fds {fd_start} -> {fd_end}")
    reasons = {k: v for k, v in lb.status().get("reasons", {}).items() if v}
    report(e2e, f"  datapath reasons: {reasons}")
    for r in stray[:5]:
        at = load.t0 + r.start_ms
        got = [n for n in reach if reached(r, n)]
        rst = [n for n, lg in reach.items() if any(at - 50 <= x <= at + r.dur_ms + 50 for x in lg.rsts.get(r.port, []))]
        before = [f"{w} at {t:.0f} ms" for t, w in timeline if r.start_ms - 3000 <= t <= r.start_ms + 500]
        for who in (b1, b2, b3, b4):  # what the daemon decided around it
            for what in ("DOWN", "UP"):
                before += [f"daemon: {who.name} {what} at {t - load.t0} ms"
                           for t in log_times(text, rf"{who.ip}:80.*is {what}", at - 3000, at + 500)]
        report(e2e, f"  failed at {r.start_ms:.0f} ms ({r.result}, {r.dur_ms:.2f} ms, client port {r.port}): "
                    f"SYN reached {got or 'no backend'}, RST from {rst or 'no backend'}; around it: "
                    f"{'; '.join(before)}")
    slow = [r for r in load.requests if r.result == "200" and r.dur_ms > 900]
    report(e2e, f"  {len(slow)} requests served but slower than 900 ms (a SYN retransmitted)")
    for r in slow[:3]:
        at = load.t0 + r.start_ms
        syns = {n: len([x for x in lg.syns.get(r.port, []) if at - 50 <= x <= at + r.dur_ms + 50])
                for n, lg in reach.items()}
        near = [f"{w} at {t:.0f} ms" for t, w in timeline if r.start_ms - 2000 <= t <= r.start_ms + 500]
        near += [f"port used before at {q.start_ms:.0f} ms ({q.body})" for q in load.requests
                 if q.port == r.port and q.start_ms < r.start_ms][-2:]
        report(e2e, f"  slow at {r.start_ms:.0f} ms ({r.dur_ms:.0f} ms, port {r.port}): SYNs per backend "
                    f"{ {n: c for n, c in syns.items() if c} }; around it: {'; '.join(near)}")
    assert None not in downs, f"the daemon took b2 out after each kill ({downs})"
    assert not stray, f"every failed request reached the killed server before its DOWN: {stray[:5]}"
    assert not cli_errors, f"every concurrent CLI command succeeded: {cli_errors[:3]}"
    assert rounds >= 2, f"at least two rounds in {SOAK_S} s ({rounds})"
    assert sorted(os.listdir(pin_dir)) == pins, "no pin leaked or lost"
    assert fd_end <= fd_start, f"no fd leaked by the daemon ({fd_start} -> {fd_end})"
    st = lb.status()
    assert [b["address"] for b in st["backends"]] == [b1.ip, b2.ip, b3.ip], "b4 removed, the rest there"
    for b in st["backends"]:
        assert b["in_ring"] == (b["placement_weight"] > 0), f"status agrees with the pools: {b}"
        assert b["health"] == "up" and not b["drained"], b
    daemon.stop()
