"""`xdplb trace` beyond XDP and the reply path: a container calling the service (TC hairpin
program: DNAT + SNAT) and a host process calling 127.0.0.1 (cgroup connect hook) are traced
with their service and backend; `--client` finds a container's hairpin replies (addressed to
the bridge's SNAT address) and, naming the host, its host-local calls; and a trace killed with
-9 stops within its lease (the datapath checks it), leaves nothing in the ring after that and
does not block the next one."""
import json
import os
import time

from lib import client, run, servers, spawn, url, wait_until

NET = 98
LEASE = 3  # s, kTraceLease (controller/datapath/datapath.h)


def start(e2e):
    t = e2e.topology(backends=2, net=NET)
    for b in t.backends:
        servers.httpd(e2e, b.ns, b.name)
        client.wait_http(t.host, f"http://{b.ip}/")
    t.host.sysctl("net.ipv4.ip_forward", 1)
    lb = e2e.xdplb(t.host)
    lb("attach", t.bridge, "--uplink", t.uplink)  # host-local hooks on (the default)
    for b in t.backends:
        lb("backend", "add", b.ip)
    return t, lb


def bpftool(*args):
    return json.loads(run(["bpftool", "-j", *args]).out)


def trace_switches(lb, bridge):
    """The trace switch (bpf/lib/trace_switch.h: the map `.data.trace`, not pinned) of the
    programs the bridge's links run, as the kernel holds it: {map id: 0 or 1}."""
    pins = os.path.join(lb.pin_root, bridge)
    switches = {}
    for name in os.listdir(pins):
        if not name.startswith("link_"):
            continue
        prog = bpftool("prog", "show", "id", str(bpftool("link", "show", "pinned", os.path.join(pins, name))["prog_id"]))
        for map_id in prog.get("map_ids", []):
            if bpftool("map", "show", "id", str(map_id))["name"] == ".data.trace":
                value = bpftool("map", "lookup", "id", str(map_id), "key", "0", "0", "0", "0")["value"]
                switches[map_id] = int(value[0], 16)  # little-endian u32: its low byte
    return switches


def records(proc):
    return [json.loads(line) for line in proc.output().splitlines() if line.startswith("{")]


def served_by(t, body):
    assert body and body.startswith("Served from"), body
    name = body.removeprefix("Served from ").strip()
    return next(f"{b.ip}:80" for b in t.backends if b.name == name)


def test_trace_hairpin_and_host_local(e2e):
    t, lb = start(e2e)
    b1 = t.backends[0]
    tr = spawn([lb.bin, "trace", "--service", "default", "--json", "--timeout", 20], e2e.path("trace.log"),
               ns=t.host, defer=e2e.defer, env=lb.environ)
    time.sleep(1)  # the trace is on once the command has started it
    hairpin_backend = served_by(t, client.http(b1.ns, url(t.bridge_ip)))
    host_backend = served_by(t, client.http(t.host, "http://127.0.0.1:8000/"))
    wait_until(lambda: records(tr), 10, "a hairpin and a connect record",
               ok=lambda ev: {"tc_hairpin", "connect"} <= {e["hook"] for e in ev})
    tr.stop()
    ev = records(tr)

    hp = [e for e in ev if e["hook"] == "tc_hairpin"]
    syn = hp[0]
    assert syn["src"].startswith(b1.ip + ":") and syn["dst"] == f"{t.bridge_ip}:8000", syn
    assert syn["service"] == "default" and syn["scheduler"] == "maglev" and syn["flow"] == "new", syn
    assert syn["backend"] == hairpin_backend, "the trace names the backend that answered"
    assert syn["verdict"] == "redirect" and "tc_hairpin_new" in syn["reasons"], syn
    assert all(e["flow"] == "hit" and e["backend"] == hairpin_backend for e in hp[1:]), hp

    conn = [e for e in ev if e["hook"] == "connect"]
    assert len(conn) == 1, conn
    assert conn[0]["src"] is None and conn[0]["dst"] == "127.0.0.1:8000", conn[0]
    assert conn[0]["service"] == "default" and conn[0]["backend"] == host_backend, conn[0]
    assert conn[0]["verdict"] == "allow"


def test_trace_client_finds_hairpin_replies_and_host_local_calls(e2e):
    t, lb = start(e2e)
    b1 = t.backends[0]

    def trace(client, log):
        return spawn([lb.bin, "trace", "--client", client, "--json", "--timeout", 20], e2e.path(log), ns=t.host,
                     defer=e2e.defer, env=lb.environ)

    tr = trace(b1.ip, "container.log")
    time.sleep(1)
    hairpin_backend = served_by(t, client.http(b1.ns, url(t.bridge_ip)))
    assert client.http(t.host, "http://127.0.0.1:8000/")  # the host's call, not the container's
    wait_until(lambda: records(tr), 10, "the container's request and the replies to it",
               ok=lambda ev: {"tc_hairpin", "tc_reply"} <= {e["hook"] for e in ev})
    time.sleep(0.5)
    tr.stop()
    ev = records(tr)
    replies = [e for e in ev if e["hook"] == "tc_reply"]
    assert replies[0]["src"] == hairpin_backend, replies[0]
    for e in replies:  # as seen on the bridge: to the SNAT address, not to the container
        assert e["dst"].startswith(t.bridge_ip + ":") and e["backend"] == hairpin_backend, e
        assert e["service"] == "default" and e["flow"] == "hit", e
    assert all(e["src"].startswith(b1.ip + ":") for e in ev if e["hook"] == "tc_hairpin"), ev
    assert not [e for e in ev if e["hook"] == "connect"], "a host-local call is not the container's"

    tr = trace("127.0.0.1", "host.log")
    time.sleep(1)
    host_backend = served_by(t, client.http(t.host, "http://127.0.0.1:8000/"))
    assert client.http(b1.ns, url(t.bridge_ip))  # the container's call, not the host's
    wait_until(lambda: records(tr), 10, "the host's connect", ok=lambda ev: "connect" in {e["hook"] for e in ev})
    time.sleep(0.5)
    tr.stop()
    ev = records(tr)
    assert [e["hook"] for e in ev] == ["connect"], ev
    assert ev[0]["backend"] == host_backend and ev[0]["service"] == "default", ev[0]


def test_trace_killed_stops_within_its_lease(e2e):
    t, lb = start(e2e)
    tr = spawn([lb.bin, "trace", "--client", t.client_ip, "--json"], e2e.path("trace.log"), ns=t.host,
               defer=e2e.defer, env=lb.environ)
    time.sleep(1)
    assert client.http(t.client, url(t.vip))
    wait_until(lambda: records(tr), 5, "the trace sees the request", ok=bool)
    time.sleep(1)  # the last FINs, read by the trace
    assert list(trace_switches(lb, t.bridge).values()) == [1], "one load of the programs, its trace switch on"
    tr.kill9()  # no chance to turn the trace off
    time.sleep(LEASE + 1)
    for _ in range(5):  # would fill the ring if the datapath still traced
        assert client.http(t.client, url(t.vip))
    # The first packet past the lease switched the hook off: no trace cost left behind.
    assert list(trace_switches(lb, t.bridge).values()) == [0], "the killed trace's switch is off"
    time.sleep(0.5)
    after = spawn([lb.bin, "trace", "--client", "192.0.2.1", "--timeout", 1], e2e.path("after.log"),
                  ns=t.host, defer=e2e.defer, env=lb.environ)
    assert after.wait(10) == 0, after.output()
    assert "tracing" in after.output(), after.output()
    assert "dropped" not in after.output(), "the killed trace's lease ran out: nothing written after it"

    # A killed trace does not block the next one, not even for its lease.
    again = spawn([lb.bin, "trace"], e2e.path("again.log"), ns=t.host, defer=e2e.defer, env=lb.environ)
    again.wait_output("tracing", 5)
    again.kill9()
    lb("trace", "--timeout", "1")
