"""The uplink guard: a client on the uplink that sends from the bridge's subnet or from the
host's bridge address opens no flow (drop_spoofed), the genuine client is served, and the daemon
guards a subnet the bridge gets while it runs."""
import os

from lib import client, run, servers, url, wait_until

NET = 187


def curl_from(ns, source, target, timeout=1, local_ports=None):
    """One GET from a chosen source address; the answer does not matter (spoofed ones get none)."""
    args = ["curl", "-s", "--max-time", str(timeout), "--interface", source]
    args += ["--local-port", local_ports] if local_ports else []
    run(args + [target], ns=ns, check=False, timeout=timeout + 5)


def test_spoofed_sources_open_no_flow_and_the_daemon_follows_new_subnets(e2e):
    t = e2e.topology(backends=1, net=NET)
    b1 = t.backend(1)
    servers.httpd(e2e, b1.ns, b1.name)
    client.wait_http(t.host, f"http://{b1.ip}/")
    lb = e2e.xdplb(t.host)
    lb("attach", t.bridge, "--uplink", t.uplink, "--no-host-local")  # the uplink's guard only
    lb("backend", "add", b1.ip)

    def reason(name):
        return lb.status()["reasons"][name]

    assert client.http(t.client, url(t.vip)) == "Served from b1", "the genuine client is served"
    assert reason("drop_spoofed") == 0, "the genuine client was not taken for spoofed"

    # From the bridge's subnet and from the bridge's own address: curl resends its SYN within
    # the second, every attempt is dropped and none becomes a flow.
    for source in (f"10.{NET}.0.77", t.bridge_ip):
        t.client.addr_add("eth0", f"{source}/32")
        curl_from(t.client, source, url(t.vip))
    assert reason("drop_spoofed") >= 2, "spoofed SYNs are dropped as drop_spoofed"
    assert lb.status()["flows"] == 1, "they made no flow (the genuine client's is the only one)"

    daemon = lb.daemon(e2e.path("daemon.log"), "--bridge", t.bridge)
    wait_until(lambda: daemon.output(), 5, "the daemon's first log line", ok=bool)
    new_source = f"10.{NET}.7.9"
    t.client.addr_add("eth0", f"{new_source}/32")
    new_flows = reason("new_flow")
    curl_from(t.client, new_source, url(t.vip))
    assert reason("new_flow") > new_flows, f"before: {new_source} is not guarded (a new flow)"

    spoofed = reason("drop_spoofed")
    t.host.addr_add(t.bridge, f"10.{NET}.7.1/24")

    def guarded():
        curl_from(t.client, new_source, url(t.vip), timeout=0.2, local_ports="50000-50999")
        return reason("drop_spoofed") - spoofed
    wait_until(guarded, 5, f"the daemon guarding 10.{NET}.7.0/24 after the bridge got it", ok=lambda n: n > 0)

    daemon.stop()
    lb("detach", t.bridge)
    assert not os.path.exists(os.path.join(lb.pin_root, t.bridge)), "no pins left"
