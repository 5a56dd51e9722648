"""The daemon under conditions that used to break it:
  - the state lock busy for 15 s (a CLI command holding it) while a backend fails: the health
    decision is kept and written once the lock frees (before: the write timed out after 10 s
    and nothing retried; the dead backend stayed in the ring);
  - neighbour resolution that hangs (an address backend nobody answers ARP for, re-resolved on
    every bridge-port event): the other backends' probes keep their interval (before: the
    loop stopped 2 s per event, and probes started after it timed out);
  - the probe path of 2 of 3 backends blackholed (nft in their namespaces drops the probes,
    not the clients): below the panic threshold (50%) health is ignored, all three keep
    serving; with the threshold off the two leave and only one serves."""
import fcntl
import os
import time

from daemonchecks import log_times, rate, report
from lib import HttpLoad, now_ms, spawn, wait_until
from test_daemon import INTERVAL, in_ring, start

INTERVAL_MS = round(INTERVAL * 1000)


def healthy(lb):
    wait_until(lambda: [b["health"] for b in lb.status()["backends"]], 5,
               "all three backends checked up", ok=lambda h: h == ["up"] * 3)


def test_health_lands_once_a_busy_lock_frees(e2e):
    t, lb = start(e2e)
    b2 = t.backend(2)
    daemon = lb.daemon(e2e.path("daemon.log"))
    daemon.wait_output(f"daemon for {t.bridge}", 5)
    healthy(lb)
    lock = os.path.join(lb.state_dir, f"{t.bridge}.lock")
    fd = os.open(lock, os.O_RDWR)
    e2e.defer(lambda: os.close(fd))
    fcntl.flock(fd, fcntl.LOCK_EX)   # what a CLI command holding the lock does
    held = now_ms()
    t.nginx[2].kill9()
    time.sleep(15)
    assert in_ring(lb, b2.ip), "while the lock is held nothing can change (status reads without it)"
    fcntl.flock(fd, fcntl.LOCK_UN)
    freed = now_ms()
    wait_until(lambda: in_ring(lb, b2.ip), 3, "b2 out of the ring once the lock is free",
               ok=lambda r: r is False)
    out = now_ms()
    assert lb.backend(b2.ip)["health"] == "down"
    report(e2e, f"busy lock: lock held {freed - held} ms from the kill; b2 out of the ring "
                f"{out - freed} ms after it freed")
    daemon.stop()


def test_probes_keep_their_interval_while_a_neighbour_hangs(e2e):
    t, lb = start(e2e)
    b1 = t.backend(1)
    ghost = f"10.{t.net}.0.99"   # on the bridge's subnet, no one there: ARP never answers
    lb("backend", "add", ghost)
    daemon = spawn([lb.bin, "--verbose", "daemon", "--foreground"], e2e.path("daemon.log"), ns=lb.ns,
                   defer=e2e.defer, env=lb.environ)   # debug: a line per probe
    daemon.wait_output(f"daemon for {t.bridge}", 10)
    wait_until(lambda: [b["health"] for b in lb.status()["backends"]], 5, "b1-b3 up, the ghost down",
               ok=lambda h: h == ["up", "up", "up", "down"])
    t0 = now_ms()
    for i in range(6):   # bridge-port events: each one re-resolves the ghost's neighbour (2 s)
        name = f"{t.prefix}-x{i}"
        t.host.ip("link", "add", name, "type", "veth", "peer", "name", f"{name}p")
        e2e.defer(lambda n=name: t.host.ip("link", "del", n, check=False))
        t.host.ip("link", "set", name, "master", t.bridge, "up")
        time.sleep(1)
        t.host.ip("link", "del", name)
    t1 = now_ms()
    log = daemon.output()
    probes = log_times(log, rf"probe of {b1.ip}:80:", t0, t1)
    gaps = [b - a for a, b in zip(probes, probes[1:])]
    assert probes and max(gaps) <= INTERVAL_MS + 250, \
        f"b1's probes kept their {INTERVAL_MS} ms interval while the ghost's neighbour hung: largest gap {max(gaps or [0])} ms"
    false_downs = [ms for ms in log_times(log, r"is DOWN", t0, t1 + 1000)]
    ghost_downs = log_times(log, rf"{ghost}:80.*is DOWN", t0, t1 + 1000)
    assert len(false_downs) == len(ghost_downs), "no backend but the ghost went DOWN"
    report(e2e, f"neighbour hang: {len(probes)} probes of b1 in {t1 - t0} ms of port events, largest gap "
                f"{max(gaps)} ms (interval {INTERVAL_MS} ms)")
    daemon.stop()


def blackhole_probes(t, b):
    """Drops the daemon's probes (from the host's bridge address) in b's namespace; the
    clients' requests (from the client's address) still arrive."""
    b.ns.run("nft", "-f", "-", input=f"""table ip {t.prefix}_probe {{
  chain input {{ type filter hook input priority 0; ip saddr {t.bridge_ip} tcp dport 80 drop; }}
}}
""")


def test_panic_threshold_keeps_a_working_service(e2e):
    t, lb = start(e2e)
    b1, b2, b3 = t.backends[:3]
    lb("health", "--type", "tcp")
    daemon = lb.daemon(e2e.path("daemon.log"))
    daemon.wait_output(f"daemon for {t.bridge}", 5)
    healthy(lb)
    for b in (b1, b2):
        blackhole_probes(t, b)
    mark = daemon.mark()
    daemon.wait_output(r"PANIC", 5, since=mark, what="the service to go into panic")
    wait_until(lambda: [b["health"] for b in lb.status()["backends"]], 5, "b1, b2 down by their probes",
               ok=lambda h: h[:3] == ["down", "down", "up"])
    st = lb.status()
    assert st["services"][0]["panic"] is True and st["services"][0]["panic_threshold"] == 50, st["services"][0]
    assert all(lb.backend(b.ip, st)["in_ring"] for b in (b1, b2, b3)), "in panic all three are in the ring"
    assert "PANIC" in lb("status").out
    load = HttpLoad(e2e, t.client, t.vip, name="panic", duration=8, rate=rate(300))
    load.wait()
    assert not load.failures(), f"panic: zero failed requests: {load.failures()[:5]}"
    served = {b.name: load.served_by_after(0, f"Served_from_{b.name}") for b in (b1, b2, b3)}
    assert all(n > 0 for n in served.values()), f"panic: all three serve: {served}"
    report(e2e, f"panic (probes of 2 of 3 blackholed): {load.total()} requests, failed {load.failed()}, "
                f"served by {served}")

    lb("health", "--panic-threshold", "0")
    wait_until(lambda: [lb.backend(b.ip)["in_ring"] for b in (b1, b2, b3)], 3,
               "threshold off: b1, b2 out", ok=lambda r: r == [False, False, True])
    off = HttpLoad(e2e, t.client, t.vip, name="nopanic", duration=4, rate=rate(300))
    off.wait()
    served = {b.name: off.served_by_after(0, f"Served_from_{b.name}") for b in (b1, b2, b3)}
    assert served["b1"] == 0 and served["b2"] == 0 and served["b3"] > 0, f"no panic: only b3 serves: {served}"
    report(e2e, f"panic threshold off: {off.total()} requests, failed {off.failed()}, served by {served}")
    daemon.stop()


KEEPALIVE = r"""
import socket, sys, time
s = socket.create_connection((sys.argv[1], 8000), timeout=5)
def get():
    s.sendall(b"GET / HTTP/1.1\r\nHost: vip\r\n\r\n")
    data = b""
    while b"Served from" not in data:
        chunk = s.recv(4096)
        if not chunk:
            return "closed"
        data += chunk
    return data.decode(errors="replace").split("Served from ")[1].split()[0]
print("first", get(), flush=True)
time.sleep(float(sys.argv[2]))
try:
    print("second", get(), flush=True)
except OSError as e:
    print("second failed", e, flush=True)
time.sleep(float(sys.argv[3]))
"""


def test_drain_keeps_an_idle_keepalive_connection_until_the_timeout(e2e):
    """... and the timeout runs from the drain's start, also across a daemon restart 8 s in
    (its start is saved: the restarted daemon does not begin the 14 s afresh)."""
    t, lb = start(e2e)
    log = e2e.path("daemon.log")
    daemon = lb.daemon(log, "--drain-timeout", "14")
    daemon.wait_output(f"daemon for {t.bridge}", 5)
    healthy(lb)
    script = e2e.path("keepalive.py")
    with open(script, "w") as f:
        f.write(KEEPALIVE)
    conn = spawn(["/usr/bin/python3", script, t.vip, "8", "20"], e2e.path("keepalive.log"), ns=t.client,
                 defer=e2e.defer)
    m = conn.wait_output(r"first (b\d)", 5)
    who = t.backend(int(m.group(1)[1:]))
    drained = now_ms()
    lb("backend", "drain", who.ip)
    m = conn.wait_output(r"second .*", 12)
    assert m.group(0) == f"second {who.name}", \
        f"the idle keep-alive connection still reaches {who.name} 8 s into its drain: {m.group(0)!r}"
    st = lb.backend(who.ip)
    assert st["drained"] and st["drain_end"] == "", f"drain goes on while the connection is open: {st}"
    daemon.stop()
    mark = os.path.getsize(log)
    daemon = lb.daemon(log, "--drain-timeout", "14")
    daemon.wait_output(f"daemon for {t.bridge}", 5, since=mark)
    restarted = now_ms() - drained
    end = wait_until(lambda: lb.backend(who.ip)["drain_end"], 10, "the drain to time out (14 s + 1 s checks)",
                     ok=lambda e: e.startswith("drain timed out"))
    took = now_ms() - drained
    assert "1 open connection(s) cut" in end, end
    assert took <= 14000 + 1500, \
        f"the drain ended 14 s after it began ({took} ms), not 14 s after the restart at {restarted} ms"
    report(e2e, f"drain: an idle keep-alive connection served 8 s into the drain; daemon restarted "
                f"{restarted} ms in; drain ended {took} ms after it began: {end}")
    daemon.stop()


def test_undrain_after_a_finished_drain_takes_flows_at_once(e2e):
    """A drain that ended turned the backend's entry off; `backend undrain` turns it on again in
    the same transaction as the ring that takes it back, so its new flows are served at once
    -- also with no daemon to notice (before: the ring placed them on an inactive entry and
    they were dropped until the daemon turned it on)."""
    t, lb = start(e2e)
    daemon = lb.daemon(e2e.path("daemon.log"))
    daemon.wait_output(f"daemon for {t.bridge}", 5)
    healthy(lb)
    b1 = t.backend(1)
    lb("backend", "drain", b1.ip)
    wait_until(lambda: lb.backend(b1.ip)["drain_end"], 10, "b1's drain to end", ok=lambda e: e != "")
    daemon.stop()  # nothing but the undrain itself may turn the entry on
    lb("backend", "undrain", b1.ip)
    assert in_ring(lb, b1.ip), "undrained: back in the ring"
    load = HttpLoad(e2e, t.client, t.vip, name="undrain", duration=3, rate=100, timeout_ms=500)
    load.wait()
    assert load.served_by_after(0, "Served_from_b1") > 0, "b1 takes new flows again"
    assert not load.failures(), f"none dropped (a SYN retransmit is 1 s, the time-out 0.5 s): {load.failures()[:5]}"
