"""Observing the load balancer: --json of the read commands, the daemon's /metrics scraped
by a real Prometheus (Debian's, started here on the host namespace's loopback), checked with
`promtool check metrics` and compared with the traffic the test sent, and `xdplb events`
following a backend killed / restored and a service added / removed."""
import json
import os
import shutil
import time

import pytest

from lib import client, run, servers, spawn, url, wait_until

NET = 96
REQUESTS = 40
METRICS_PORT = 9464
PROM_PORT = 9465


def start(e2e, backends=2):
    t = e2e.topology(backends=backends, net=NET)
    t.httpd = {}
    for b in t.backends:
        t.httpd[b.k] = servers.httpd(e2e, b.ns, b.name)
        client.wait_http(t.host, f"http://{b.ip}/")
    t.host.sysctl("net.ipv4.ip_forward", 1)
    lb = e2e.xdplb(t.host)
    lb("attach", t.bridge, "--uplink", t.uplink, "--no-host-local")
    for b in t.backends:
        lb("backend", "add", b.ip)
    return t, lb


def scrape(t, port=METRICS_PORT):
    return run(["curl", "-s", "--fail", "--max-time", 5, f"http://127.0.0.1:{port}/metrics"], ns=t.host).out


def samples(text):
    """{(name, frozenset(labels)): value} of a Prometheus text exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        head, value = line.rsplit(" ", 1)
        name, _, labels = head.partition("{")
        pairs = frozenset(tuple(kv.split("=", 1)) for kv in labels.rstrip("}").split(",") if kv) if labels else frozenset()
        out[(name, frozenset((k, v.strip('"')) for k, v in pairs))] = float(value)
    return out


def prometheus(e2e, t, targets):
    """Debian's prometheus in the host namespace on 127.0.0.1:PROM_PORT, scraping every 1 s."""
    if not shutil.which("prometheus"):
        pytest.skip("prometheus is not installed (scripts/install-deps.sh installs it)")
    cfg = e2e.path("prometheus.yml")
    with open(cfg, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"
                "  - job_name: xdplb\n    static_configs:\n"
                f"      - targets: [{', '.join(repr(x) for x in targets)}]\n")
    data = e2e.path("prometheus-data")
    os.makedirs(data)
    p = spawn(["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={data}",
               f"--web.listen-address=127.0.0.1:{PROM_PORT}", "--storage.tsdb.retention.time=1h"],
              e2e.path("prometheus.log"), ns=t.host, defer=e2e.defer)
    wait_until(lambda: run(["curl", "-s", "--max-time", 2, f"http://127.0.0.1:{PROM_PORT}/-/ready"],
                           ns=t.host, check=False).ok, 30, "prometheus ready")
    return p


def prom_query(t, query):
    """The instant vector of query as {frozenset(labels without __name__/job/instance): value}."""
    r = run(["curl", "-s", "--fail", "--max-time", 5, "--get", "--data-urlencode", f"query={query}",
             f"http://127.0.0.1:{PROM_PORT}/api/v1/query"], ns=t.host)
    body = json.loads(r.out)
    assert body["status"] == "success", body
    return {frozenset((k, v) for k, v in s["metric"].items() if k not in ("__name__", "job", "instance")):
            float(s["value"][1]) for s in body["data"]["result"]}


def test_json_of_read_commands(e2e):
    t, lb = start(e2e)
    b1 = t.backends[0]
    st = lb.status()
    for key in ("bridge", "uplinks", "services", "service", "host_local", "flows", "flow_table_size",
                "hairpin_flows", "hairpin_table_size", "backends", "reasons"):
        assert key in st, f"status --json has {key}"
    assert [b["address"] for b in st["backends"]] == [b.ip for b in t.backends]
    assert st["flow_table_size"] > 0 and st["hairpin_table_size"] > 0
    listed = lb.json("backend", "list")
    assert [b["id"] for b in listed] == [b["id"] for b in st["backends"]]
    services = lb.json("service", "list")
    assert [s["name"] for s in services] == ["default"]
    assert services[0]["health_check"]["type"] == "tcp"
    h = lb.json("health")
    assert h["service"] == "default" and h["checks"]["type"] == "tcp"
    assert [b["address"] for b in h["backends"]] == [b.ip for b in t.backends]
    h = lb.json("health", "--type", "http", "--path", "/index.html")
    assert h["checks"]["type"] == "http" and h["checks"]["http_path"] == "/index.html"
    assert lb.json("scheduler") == {"bridge": t.bridge, "service": "default", "scheduler": "maglev",
                                    "affinity": "none", "meaning": lb.json("scheduler")["meaning"]}
    assert lb.json("scheduler", "round-robin")["scheduler"] == "round-robin"
    assert lb.backend(b1.ip)["health"] == "", "unchecked before a daemon ran"


def test_metrics_scraped_by_prometheus(e2e):
    t, lb = start(e2e)
    lb("health", "--type", "http", "--interval", "0.2", "--timeout", "0.5")
    lb.fails("daemon", "--foreground", "--metrics", "0.0.0.0:9464", match="--metrics-public")
    lb.fails("daemon", "--foreground", "--metrics", "nowhere", match="--metrics")
    daemon = lb.daemon(e2e.path("daemon.log"))
    daemon.wait_output(rf"metrics on http://127\.0\.0\.1:{METRICS_PORT}/metrics", 10)
    wait_until(lambda: [b["health"] for b in lb.status()["backends"]], 10, "both backends up",
               ok=lambda h: h == ["up", "up"])
    # No endpoint but /metrics, and nothing listens beyond loopback.
    r = run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", 5,
             f"http://127.0.0.1:{METRICS_PORT}/"], ns=t.host, check=False)
    assert r.out == "404"
    assert not run(["curl", "-s", "--max-time", 2, f"http://{t.vip}:{METRICS_PORT}/metrics"],
                   ns=t.client, check=False).ok, "not served on the uplink's address"

    prom = prometheus(e2e, t, [f"127.0.0.1:{METRICS_PORT}"])
    before = samples(scrape(t))
    bodies = client.pages(t.client, url(t.vip), REQUESTS)
    assert client.FAIL not in bodies, bodies
    time.sleep(1)  # the last FINs
    text = scrape(t)
    check = run(["promtool", "check", "metrics"], input=text, check=False)
    assert check.ok, f"promtool check metrics: {check.out}{check.err}"
    after = samples(text)

    def total(name, before_too=True):
        now = sum(v for (n, _), v in after.items() if n == name)
        return now - (sum(v for (n, _), v in before.items() if n == name) if before_too else 0)

    assert total("xdplb_backend_new_flows_total") == REQUESTS, "one new flow per request sent"
    # Each request: SYN, ACK, request, ACK(s), FIN, ACK at least; all to the backend through XDP.
    assert total("xdplb_backend_packets_total") >= 5 * REQUESTS
    status = lb.status()
    for b in status["backends"]:
        labels = frozenset({("service", "default"), ("backend", f"{b['address']}:80"), ("family", "ipv4")})
        assert after[("xdplb_backend_packets_total", labels)] == b["packets"], "metrics = status --json"
        assert after[("xdplb_backend_bytes_total", labels)] == b["bytes"]
        assert after[("xdplb_backend_up", labels)] == 1
        assert after[("xdplb_health_probe_duration_seconds_count", labels)] > 0
    reasons = {dict(l)["reason"]: v for (n, l), v in after.items() if n == "xdplb_datapath_packets_total"}
    assert set(reasons) == set(status["reasons"]), "every named outcome is a series"
    assert all(reasons[k] <= v for k, v in status["reasons"].items()), "counters only grow"
    assert reasons["new_flow"] - sum(v for (n, l), v in before.items()
                                     if n == "xdplb_datapath_packets_total" and dict(l)["reason"] == "new_flow") \
        == REQUESTS

    # What Prometheus scraped: its series agree with the traffic once a scrape after it is in.
    want = total("xdplb_backend_new_flows_total", before_too=False)
    got = wait_until(lambda: sum(prom_query(t, "xdplb_backend_new_flows_total").values()), 15,
                     "prometheus has the flows of the requests", ok=lambda v: v == want)
    assert got == want
    up = prom_query(t, "xdplb_backend_up")
    assert sorted(dict(l)["backend"] for l in up) == sorted(f"{b.ip}:80" for b in t.backends)
    assert all(v == 1 for v in up.values())
    assert prom_query(t, "up") == {frozenset(): 1.0}, "the target is up for prometheus"
    flows = prom_query(t, "xdplb_flow_table_entries")
    assert list(flows.values())[0] >= 1
    prom.stop()

    # A CLI change while the daemon runs: its own counters are the CLI's, but the daemon counts
    # the state file it loads.
    changes = ("xdplb_state_changes_total", frozenset())
    seen = samples(scrape(t))[changes]
    lb("service", "add", "other", "--port", "9000", "--proto", "tcp")
    wait_until(lambda: samples(scrape(t))[changes], 10, "the daemon counted the CLI's change",
               ok=lambda v: v == seen + 1)

    print("scrape while the daemon is busy: the daemon's loop is not stalled by scrapes")
    t0 = time.monotonic()
    for _ in range(20):
        scrape(t)
    per = (time.monotonic() - t0) / 20
    print(f"  {per * 1000:.1f} ms per scrape (curl included), {len(text)} bytes")


def test_metrics_off(e2e):
    t, lb = start(e2e, backends=1)
    daemon = lb.daemon(e2e.path("daemon.log"), "--metrics", "off")
    daemon.wait_output(f"daemon for {t.bridge}", 10)
    assert not run(["curl", "-s", "--max-time", 2, f"http://127.0.0.1:{METRICS_PORT}/metrics"],
                   ns=t.host, check=False).ok


def test_events(e2e):
    t, lb = start(e2e)
    b2 = t.backends[1]
    lb("health", "--type", "http", "--interval", "0.2", "--timeout", "0.3", "--rise", 2, "--fall", 2)
    lb.fails("events", match="is `xdplb daemon` running")
    daemon = lb.daemon(e2e.path("daemon.log"), "--metrics", "off")
    daemon.wait_output(f"daemon for {t.bridge}", 10)
    sock = os.path.join(lb.state_dir, f"{t.bridge}.events.sock")
    assert oct(os.stat(sock).st_mode & 0o777) == "0o600", "root-only socket"
    ev = spawn([lb.bin, "events", "--json"], e2e.path("events.log"), ns=t.host, defer=e2e.defer, env=lb.environ)
    text_ev = spawn([lb.bin, "events"], e2e.path("events-text.log"), ns=t.host, defer=e2e.defer, env=lb.environ)
    ev.wait_output('"type":"subscribed"', 5)
    text_ev.wait_output("following the events", 5)

    def events():
        return events_of(ev)

    def seen(type_, after="", **fields):
        return first_event(ev, type_, after, **fields)

    wait_until(lambda: [b["health"] for b in lb.status()["backends"]], 10, "both backends up",
               ok=lambda h: h == ["up", "up"])
    t.httpd[2].kill9()
    down = seen("backend_down", address=b2.ip, backend=f"{b2.ip}:80", service="default")
    assert "failed probes" in down["reason"] and down["bridge"] == t.bridge
    t.httpd[2] = servers.httpd(e2e, b2.ns, b2.name)
    seen("backend_up", after=down["time"], address=b2.ip)

    lb("service", "add", "dns", "--port", "5353", "--proto", "udp")
    seen("service_added", service="dns")
    lb("service", "remove", "dns")
    seen("service_removed", service="dns")
    lb("backend", "drain", t.backends[0].ip)
    seen("backend_drained", address=t.backends[0].ip)
    text_ev.wait_output(rf"backend_down service default backend {b2.ip}:80: 2 failed probes", 5)

    counted = spawn([lb.bin, "events", "--json", "--count", 1], e2e.path("events-1.log"), ns=t.host,
                    defer=e2e.defer, env=lb.environ)
    counted.wait_output('"type":"subscribed"', 5)
    lb("backend", "undrain", t.backends[0].ip)
    assert counted.wait(10) == 0, "--count 1 exits after one event"
    assert '"type":"backend_undrained"' in counted.output()

    daemon.stop()
    assert ev.wait(5) != 0, "the stream ends with the daemon"
    assert any(e["type"] == "daemon_stopping" for e in events()), ev.output()[-600:] + daemon.output()[-800:]
    assert not os.path.exists(sock), "the daemon removes its socket"


def events_of(proc):
    """The events an `xdplb events --json` process printed so far."""
    return [json.loads(line) for line in proc.output().splitlines() if line.startswith("{")]


def first_event(proc, type_, after="", **fields):
    """The first event of type_ with these fields (later than time `after`), waited for."""
    return wait_until(lambda: [e for e in events_of(proc) if e["type"] == type_ and e["time"] > after and
                               all(e.get(k) == v for k, v in fields.items())], 10,
                      f"event {type_} {fields}", ok=bool)[0]


def test_events_of_links_and_macs(e2e):
    t, lb = start(e2e)
    b1, b2 = t.backends
    daemon = lb.daemon(e2e.path("daemon.log"), "--metrics", "off")
    daemon.wait_output(f"daemon for {t.bridge}", 10)
    ev = spawn([lb.bin, "events", "--json"], e2e.path("events.log"), ns=t.host, defer=e2e.defer, env=lb.environ)
    ev.wait_output('"type":"subscribed"', 5)

    # A MAC below every other port's on b1's port: the bridge (no MAC of its own) takes it.
    mac = "02:00:00:00:00:01"
    t.host.ip("link", "set", b1.host_port, "address", mac)
    moved = first_event(ev, "bridge_mac_changed", reason=mac)
    assert moved["bridge"] == t.bridge
    first_event(ev, "link_changed", reason=f"{b1.host_port} changed")

    # b2's port down and up again: each one a link change the daemon re-plans the ports for.
    t.host.ip("link", "set", b2.host_port, "down")
    down = first_event(ev, "link_changed", after=moved["time"], reason=f"{b2.host_port} changed")
    t.host.ip("link", "set", b2.host_port, "up")
    first_event(ev, "link_changed", after=down["time"], reason=f"{b2.host_port} changed")
    daemon.wait_output(f"bridge {t.bridge} has a new MAC {mac}", 5)
    assert client.http(t.client, url(t.vip)), "served after the bridge's MAC changed"


def test_trace(e2e):
    t, lb = start(e2e)
    lb("service", "add", "other", "--port", "9000", "--proto", "tcp")
    lb.fails("trace", "--service", "nope", match="no service 'nope'")
    lb.fails("trace", "--client", "10.0.0.300", match="--client")
    # Nothing matches: the trace ends at its timeout with no output.
    r = lb("trace", "--client", "192.0.2.1", "--timeout", "1", "--json")
    assert r.out == ""
    tr = spawn([lb.bin, "trace", "--service", "default", "--client", t.client_ip, "--count", 12, "--json",
                "--timeout", 20], e2e.path("trace.log"), ns=t.host, defer=e2e.defer, env=lb.environ)
    time.sleep(1)  # the trace is on once the command has started it
    body = client.http(t.client, url(t.vip))
    assert body and body.startswith("Served from")
    assert tr.wait(25) == 0
    events = [json.loads(line) for line in tr.output().splitlines() if line.startswith("{")]
    assert len(events) == 12, tr.output()
    xdp = [e for e in events if e["hook"] == "xdp"]
    tc = [e for e in events if e["hook"] == "tc_reply"]
    assert xdp and tc, "requests on the uplink and replies on the bridge"
    syn = xdp[0]
    assert syn["service"] == "default" and syn["scheduler"] == "maglev" and syn["flow"] == "new"
    assert syn["src"].startswith(t.client_ip + ":") and syn["dst"] == f"{t.vip}:8000"
    served = body.removeprefix("Served from ").strip()
    backend = next(b for b in t.backends if b.name == served)
    assert syn["backend"] == f"{backend.ip}:80", "the trace names the backend that answered"
    assert "new_flow" in syn["reasons"] and syn["verdict"] in ("redirect", "pass")
    assert all(e["flow"] == "hit" and e["backend"] == syn["backend"] for e in xdp[1:]), xdp
    assert all(e["src"] == f"{backend.ip}:80" and e["backend"] == syn["backend"] for e in tc), tc
    assert all(e["verdict"] == "redirect" for e in tc) and all(
        any(r.startswith("tc_revnat") for r in e["reasons"]) for e in tc), tc
    status = lb.status()
    assert status["reasons"]["new_flow"] >= 1

    # Text output; one trace at a time.
    tr2 = spawn([lb.bin, "trace", "--count", 1], e2e.path("trace2.log"), ns=t.host, defer=e2e.defer,
                env=lb.environ)
    time.sleep(1)
    lb.fails("trace", "--timeout", "1", match="already runs")
    assert client.http(t.client, url(t.vip))
    assert tr2.wait(10) == 0
    assert " service default (maglev) flow new -> " in tr2.output(), tr2.output()

    # The other service's trace sees none of the default service's packets.
    other = spawn([lb.bin, "trace", "--service", "other", "--timeout", 3, "--json"], e2e.path("trace3.log"),
                  ns=t.host, defer=e2e.defer, env=lb.environ)
    time.sleep(1)
    assert client.http(t.client, url(t.vip))
    assert other.wait(10) == 0
    assert other.output() == "", other.output()
