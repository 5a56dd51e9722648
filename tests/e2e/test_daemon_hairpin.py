"""Passive health on the hairpin path: a container on the bridge (namespace b4) calls the
service at the bridge address while b2's server is killed (kill -9). The TC program counts b2's
RSTs to the container's SYNs as refusals, and the daemon takes b2 out on them -- long before its
active checks could (every 5 s, fall 3: 10 s at least)."""
import time

from daemonchecks import log_times, report
from lib import HttpLoad, client, now_ms, servers, wait_until

NET = 141
INTERVAL, FALL = 5, 3  # active checks alone would need >= (FALL - 1) * INTERVAL s


def test_hairpin_refusals_take_a_killed_backend_out(e2e):
    t = e2e.topology(backends=4, net=NET)
    nginx = {}
    for b in t.backends[:3]:
        nginx[b.k] = servers.nginx(e2e, b.ns, b.name)
        client.wait_http(t.host, f"http://{b.ip}/")
    t.host.sysctl("net.ipv4.ip_forward", 1)
    lb = e2e.xdplb(t.host)
    lb("attach", t.bridge, "--uplink", t.uplink, "--no-host-local")
    for b in t.backends[:3]:
        lb("backend", "add", b.ip)
    lb("health", "--type", "tcp", "--interval", INTERVAL, "--timeout", 1, "--fall", FALL, "--refusals", 3)
    log = e2e.path("daemon.log")
    daemon = lb.daemon(log)
    daemon.wait_output(f"daemon for {t.bridge}", 5)
    wait_until(lambda: [b["health"] for b in lb.status()["backends"]], 15, "three up",
               ok=lambda h: h == ["up"] * 3)
    b2, container = t.backend(2), t.backend(4)
    load = HttpLoad(e2e, container.ns, t.bridge_ip, name="hairpin", duration=8, rate=200)
    time.sleep(3)
    kill = now_ms()
    nginx[2].kill9()
    load.wait()
    with open(log, errors="replace") as f:
        text = f.read()
    down = min(log_times(text, rf"{b2.ip}:80.*is DOWN", kill, kill + 10000), default=None)
    ok_before = load.served_by_after(0, "Served_from_b2")
    report(e2e, f"hairpin kill -9: {load.total()} requests from a container, {load.failed()} failed, "
                f"detection {'?' if down is None else down - kill} ms (checks every {INTERVAL} s, fall "
                f"{FALL}, refusals 3)")
    assert ok_before > 0, "the container's requests reached b2 before the kill"
    assert down is not None, "the daemon took b2 out"
    assert "refused in a row (passive" in text, "by the refusals the hairpin path counted"
    assert down - kill < 2000, f"within 2 s of the kill ({down - kill} ms), not at the probes' pace"
    assert not load.failures(load.rel(down) + 50), "no request failed after b2 was taken out"
    st = lb.backend(b2.ip)
    assert st["health"] == "down" and not st["in_ring"], st
    daemon.stop()
