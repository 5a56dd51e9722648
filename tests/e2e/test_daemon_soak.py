"""Churn soak (bounded: SOAK_S seconds of load, 90 by default, at 300 new connections/s): while
the load runs, rounds of backend add -> drain -> remove, drain + undrain, kill -9 of a server and
its restart, and a daemon restart every other round, with three CLI processes changing and
reading things at the same time. Then: no failed request except those in flight at a kill
(started before it, ended after) or started in the 2 s after it; every CLI command succeeded; no leaked pins or daemon fds; status agrees with
the maps (a backend is in the ring exactly when the pools give it a weight)."""
import os
import threading
import time

from daemonchecks import report
from lib import HttpLoad, now_ms, wait_until
from test_daemon import serve, start

SOAK_S = int(os.environ.get("XDM_SOAK", "90"))
KILL_WINDOW_MS = 2000
CLOCK_SLACK_MS = 2


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

    load = HttpLoad(e2e, t.client, t.vip, name="soak", duration=SOAK_S, rate=300, concurrency=64)
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

    # A kill explains a failure whose request was in flight at it (it started before the kill,
    # by the load's clock, and ended after) or started in the KILL_WINDOW_MS after it. The two
    # clocks are lined up to the ms only (both epoch ms, rounded): CLOCK_SLACK_MS each way.
    def in_kill_window(r):
        at = load.t0 + r.start_ms
        return any(at + r.dur_ms >= k - CLOCK_SLACK_MS and at <= k + KILL_WINDOW_MS for k in kills)

    def in_flight_at_kill(r):
        at = load.t0 + r.start_ms
        return any(at < k <= at + r.dur_ms + CLOCK_SLACK_MS for k in kills)
    stray = [r for r in load.failures() if not in_kill_window(r)]
    at_kills = load.failed() - len(stray)
    in_flight = sum(1 for r in load.failures() if in_flight_at_kill(r))
    report(e2e, f"soak: {SOAK_S} s, {rounds} rounds ({len(kills)} kills, {restarts} daemon restarts), "
                f"{load.total()} requests, {load.failed()} failed ({at_kills} explained by a kill: {in_flight} in flight "
                f"at it, {at_kills - in_flight} started in the {KILL_WINDOW_MS} ms after; {len(stray)} elsewhere), {cli_runs[0]} concurrent CLI commands, {len(cli_errors)} failed, "
                f"daemon fds {fd_start} -> {fd_end}")
    reasons = {k: v for k, v in lb.status().get("reasons", {}).items() if v}
    report(e2e, f"  datapath reasons: {reasons}")
    for r in stray[:5]:
        before = [f"{w} at {at:.0f} ms" for at, w in timeline if r.start_ms - 3000 <= at <= r.start_ms + 500]
        report(e2e, f"  failed at {r.start_ms:.0f} ms ({r.result}); around it: {'; '.join(before)}")
    assert not stray, f"no failed request away from a kill: {stray[:5]}"
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
