"""`xdplb daemon` under a bounded HTTP load (XDM_DURATION s per scenario, one new connection
per request, every request recorded by xdplb_http_load) against nginx backends in namespaces:
  (a) kill -9 of one backend's server: failures only around the kill, none after the daemon
      takes it out; detection time <= fall x interval + timeout; (d) restarted, it comes back;
  (a2) a backend's link goes down (no RST): the same, and back;
  (b) backend drain, then kill: zero failed requests;
  (c) daemon stop + start under load: zero failed requests;
the background mode; then the tutorial's setup (nft DNAT to an nginx least_conn proxy) under
the same kill, for comparison."""
import os
import stat
import time

from daemonchecks import DURATION, outage, rate, report
from lib import HttpLoad, client, now_ms, servers, spawn, wait_until

NET = 83
RATE = rate(500)
INTERVAL, TIMEOUT, RISE, FALL = 0.2, 0.2, 2, 2
BOUND_MS = round((FALL * INTERVAL + TIMEOUT) * 1000)


def start(e2e):
    """4 backends, nginx in b1-b3, attached (no host-local), http health checks set."""
    t = e2e.topology(backends=4, net=NET)
    t.nginx = {}
    for b in t.backends[:3]:
        serve(e2e, t, b.k)
    t.host.sysctl("net.ipv4.ip_forward", 1)
    lb = e2e.xdplb(t.host)
    lb("attach", t.bridge, "--uplink", t.uplink, "--no-host-local")
    for b in t.backends[:3]:
        lb("backend", "add", b.ip)
    lb("health", "--type", "http", "--path", "/", "--expect", "200-299", "--interval", INTERVAL,
       "--timeout", TIMEOUT, "--rise", RISE, "--fall", FALL)
    return t, lb


def serve(e2e, t, k):
    b = t.backend(k)
    t.nginx[k] = servers.nginx(e2e, b.ns, b.name)
    client.wait_http(t.host, f"http://{b.ip}/")


def load(e2e, t, name):
    return HttpLoad(e2e, t.client, t.vip, name=name, duration=DURATION, rate=RATE)


def in_ring(lb, ip):
    return lb.backend(ip)["in_ring"]


def test_daemon_under_load(e2e):
    t, lb = start(e2e)
    b1, b2, b3 = t.backends[:3]
    lb.fails("health", "--interval", "0.05", match="interval")
    lb.fails("backend", "drain", f"10.{NET}.0.99", match="no backend")
    log = e2e.path("daemon.log")
    daemon = lb.daemon(log)
    daemon.wait_output(f"daemon for {t.bridge}", 5)
    lb.fails("daemon", "--foreground", match="already runs")
    wait_until(lambda: [b["health"] for b in lb.status()["backends"]], 5,
               "all three backends checked up", ok=lambda h: h == ["up"] * 3)

    print("(a) kill -9 of b2's server under load, restart it 7 s later")
    o = outage(load(e2e, t, "a"), daemon, "b2", t.nginx[2].kill9, lambda: serve(e2e, t, 2),
               rf"{b2.ip}:80.*is DOWN", rf"{b2.ip}:80.*is UP")
    a = o.load
    assert o.detection <= BOUND_MS + 100, \
        f"detection {o.detection} ms <= fall x interval + timeout ({BOUND_MS} ms) + 100 ms tick slack"
    assert not a.failures(0, a.rel(o.fail) - 3000), "no failed request before the kill"
    assert a.rate() >= 200, f"offered load >= 200 req/s ({a.rate()})"
    assert a.served_by_after(a.rel(o.up) + 50, "Served_from_b2") > 0, "(d) b2 serves again after it is UP"
    report(e2e, f"xdplb kill -9: {a.total()} requests, {a.rate()} req/s, failed {a.failed()}, "
                f"detection {o.detection} ms (bound {BOUND_MS} ms), slowest after kill "
                f"{a.slowest_after(a.rel(o.fail)):.1f} ms, back UP {o.up - o.repair} ms after restart")

    print("(a2) b1 vanishes (its link goes down: no RST, like a container gone), back 7 s later")
    o = outage(load(e2e, t, "a2"), daemon, "b1", b1.link_down, b1.link_up,
               rf"{b1.ip}:80.*is DOWN", rf"{b1.ip}:80.*is UP")
    a2 = o.load
    assert o.detection <= BOUND_MS + 100, f"detection {o.detection} ms <= {BOUND_MS} ms + 100 ms"
    report(e2e, f"xdplb link down: {a2.total()} requests, {a2.rate()} req/s, failed "
                f"{a2.failed()}, detection {o.detection} ms, slowest after the failure "
                f"{a2.slowest_after(a2.rel(o.fail)):.1f} ms")

    print("(b) drain b3, wait until it is quiet, kill it: zero failed")
    bl = load(e2e, t, "b")
    time.sleep(3)
    drain = now_ms()
    mark = daemon.mark()
    lb("backend", "drain", b3.ip)
    daemon.wait_output(rf"{b3.ip}:80.*drained: no open flow left", 10, since=mark,
                       what="the daemon to see b3's connections all closed")
    quiet = now_ms()
    st = lb.backend(b3.ip)
    assert st["drained"] and not st["in_ring"] and st["drain_end"] == "drained: no open flow left", \
        f"status: b3 drained, out of the ring, its drain over: {st}"
    t.nginx[3].kill9()
    bl.wait()
    assert not bl.failures(), "(b) zero failed requests with drain + kill"
    assert bl.served_by_after(bl.rel(drain) + 100, "Served_from_b3") == 0, "no request reached b3 after the drain"
    report(e2e, f"xdplb drain+kill: {bl.total()} requests, {bl.rate()} req/s, failed "
                f"{bl.failed()}, drain quiet after {quiet - drain} ms")
    serve(e2e, t, 3)
    lb("backend", "undrain", b3.ip)

    print("CLI changes while the daemon runs: remove + add b3 again")
    b3_id = next(b["id"] for b in lb.json("backend", "list") if b["address"] == b3.ip)
    mark = daemon.mark()
    lb("backend", "remove", b3.ip)
    # The daemon re-reads the state within 50 ms of a change, unless a probe round holds it up.
    daemon.wait_output(rf"backend id {b3_id}: gone from the saved state", 5, since=mark)
    mark = daemon.mark()
    lb("backend", "add", b3.ip)
    daemon.wait_output(rf"{b3.ip}:80: picked up from the saved state", 5, since=mark)
    wait_until(lambda: lb.backend(b3.ip)["health"], 5, "re-added b3 probed up", ok=lambda h: h == "up")

    print("(c) daemon stop + start under load: zero failed")
    c = load(e2e, t, "c")
    time.sleep(5)
    daemon.stop()
    assert not daemon.running(), "daemon stopped"
    time.sleep(3)
    daemon = lb.daemon(log)
    c.wait()
    assert not c.failures(), "(c) zero failed requests across daemon stop + start"
    report(e2e, f"xdplb daemon restart: {c.total()} requests, {c.rate()} req/s, failed {c.failed()}")
    daemon.stop()
    print("--- daemon log (last 30 lines)\n" + "\n".join(daemon.output().splitlines()[-30:]))


def test_kill9_active_only_vs_active_and_passive(e2e):
    """kill -9 of b2's server under load, twice at the same probe settings: active probes alone
    (--refusals 0), then with passive detection (the datapath's count of b2's RSTs to SYNs,
    --refusals 3). Passive must fail at most a third of the requests active alone fails."""
    t, lb = start(e2e)
    daemon = lb.daemon(e2e.path("daemon.log"))
    daemon.wait_output(f"daemon for {t.bridge}", 5)
    b2 = t.backend(2)
    got = {}
    for mode, refusals in (("active only", "0"), ("active+passive", "3")):
        lb("health", "--refusals", refusals)
        wait_until(lambda: [b["health"] for b in lb.status()["backends"]], 10,
                   "all three backends checked up", ok=lambda h: h == ["up"] * 3)
        o = outage(load(e2e, t, mode.replace(" ", "_").replace("+", "_")), daemon, "b2", t.nginx[2].kill9,
                   lambda: serve(e2e, t, 2), rf"{b2.ip}:80.*is DOWN", rf"{b2.ip}:80.*is UP")
        got[mode] = o
        report(e2e, f"xdplb kill -9, {mode}: {o.load.total()} requests, {o.load.rate()} req/s, failed "
                    f"{o.load.failed()}, detection {o.detection} ms (checks every {INTERVAL} s, timeout "
                    f"{TIMEOUT} s, fall {FALL})")
    a, p = got["active only"], got["active+passive"]
    assert "refused in a row (passive" in daemon.output(), "the passive check took b2 out"
    assert p.load.failed() * 3 <= a.load.failed(), \
        f"passive: {p.load.failed()} failed <= 1/3 of active only ({a.load.failed()})"
    daemon.stop()


def _alive(pid):
    return pid > 0 and os.path.exists(f"/proc/{pid}")


def _mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_daemon_background_mode(e2e):
    """Background mode: returns once the daemon holds its lock (non-zero with the reason
    otherwise), writes its pid file and log (0600), stops on SIGTERM."""
    t, lb = start(e2e)
    b1 = t.backend(1)
    bg_log = e2e.path("bg.log")
    os.chmod(lb.state_dir, 0o777)
    lb.fails("daemon", "--log-file", bg_log, match=r"may be written by others \(mode 0777\)")
    os.chmod(lb.state_dir, 0o700)
    out = lb("daemon", "--log-file", bg_log).out
    assert "started (pid" in out, out
    pidfile = os.path.join(lb.state_dir, f"{t.bridge}.daemon.pid")
    with open(pidfile) as f:
        pid = int(f.read().strip())
    e2e.defer(lambda: _alive(pid) and os.kill(pid, 9))
    assert _alive(pid), "the daemon runs when `xdplb daemon` returns"
    lb.fails("daemon", "--log-file", e2e.path("bg2.log"), match="already runs")
    for f in (pidfile, bg_log, os.path.join(lb.state_dir, f"{t.bridge}.json"),
              os.path.join(lb.state_dir, f"{t.bridge}.lock")):
        assert _mode(f) == 0o600, f"{f}: mode {_mode(f):04o}, want 0600"

    wait_until(lambda: open(bg_log).read(), 3, "the background daemon to log",
               ok=lambda text: f"daemon for {t.bridge}" in text)
    wait_until(lambda: [b["health"] for b in lb.status()["backends"]], 5,
               "all three backends checked up", ok=lambda h: h == ["up"] * 3)
    t.nginx[1].kill9()
    wait_until(lambda: in_ring(lb, b1.ip), 1.5, "the background daemon to take the killed b1 out",
               ok=lambda r: r is False)
    os.kill(pid, 15)
    wait_until(lambda: _alive(pid), 3, "the background daemon to stop on SIGTERM",
               ok=lambda a: not a)
    with open(bg_log) as f:
        assert "stopping; the datapath keeps forwarding" in f.read(), "SIGTERM: an orderly stop, logged"
    assert not os.path.exists(pidfile), "its pid file removed on the way out"
    serve(e2e, t, 1)
    lb("health", "--type", "none")
    assert in_ring(lb, b1.ip) is True, "health checks off: b1 back in the ring without a daemon"


def test_tutorial_setup_for_comparison(e2e):
    """The tutorial's setup: nft DNAT :8000 -> nginx least_conn proxy (b4) -> b1..b3."""
    t, lb = start(e2e)
    lb("detach", t.bridge)
    b1, proxy = t.backend(1), t.backend(4)
    d = e2e.path("proxy")
    up = " ".join(f"server {b.ip}:80;" for b in t.backends[:3])
    conf = servers.nginx_conf(d, f"upstream web {{ least_conn; {up} }}\n"
                                 "  server { listen 80 backlog=4096; location / { proxy_pass http://web; } }")
    spawn(["nginx", "-c", conf], e2e.path("proxy.log"), ns=proxy.ns, defer=e2e.defer)
    client.wait_http(t.host, f"http://{proxy.ip}/")
    t.host.run("nft", "-f", "-", input=f"""table ip {t.prefix}_tutorial {{
  chain pre {{ type nat hook prerouting priority dstnat; ip daddr {t.vip} tcp dport 8000 dnat to {proxy.ip}:80; }}
}}
""")
    tl = load(e2e, t, "t")
    time.sleep(5)
    kill = now_ms()
    t.nginx[2].kill9()
    tl.wait()
    assert tl.rate() >= 200, f"tutorial setup: offered load >= 200 req/s ({tl.rate()})"
    report(e2e, f"tutorial kill -9: {tl.total()} requests, {tl.rate()} req/s, failed "
                f"{tl.failed()}, detection: passive (first failed connect), slowest after kill "
                f"{tl.slowest_after(tl.rel(kill)):.1f} ms")
    serve(e2e, t, 2)
    print("tutorial setup, b1 vanishes (link down)")
    t2 = load(e2e, t, "t2")
    time.sleep(5)
    kill = now_ms()
    b1.link_down()
    t2.wait()
    b1.link_up()
    report(e2e, f"tutorial link down: {t2.total()} requests, {t2.rate()} req/s, failed "
                f"{t2.failed()}, slowest after the failure {t2.slowest_after(t2.rel(kill)):.1f} ms")
