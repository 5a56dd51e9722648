"""A routed backend (outside the bridge's subnets, behind a router on the uplink side): the
client's requests are DNATed and FIB-routed back out of the uplink, the backend's replies come
back on the uplink and XDP puts the VIP back as their source, also into the backend's ICMP
errors about the client's packets. NET = 172.

    real client ns {P}-rc 10.N.7.2 ── {P}-cli (router) ── uplink ── host (xdplb, VIP 10.N.1.1)
    far backend ns {P}-fb 10.N.6.2 ──┘   routes what comes from 10.N.6.0/24 to the host

Both XDP modes. Native: the routed requests and replies leave by XDP_TX on the uplink, and a
veth hands XDP_TX'ed frames to its peer at once only if the peer has an XDP program too (the
driver wakes the peer's NAPI for them only then; without NAPI they are dropped, with NAPI from
GRO alone they wait in its ring for other traffic) — so the router's end gets an XDP_PASS
program, which a real NIC's wire does not need.
"""
import os

import pytest

from lib import client, servers, url
from lib.net import veth

NET = 172
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
XDP_PASS_OBJ = os.environ.get("XDPLB_XDP_PASS_OBJ",
                              os.path.join(REPO, "build/tests/e2e/e2e_xdp_pass.bpf.o"))


@pytest.mark.parametrize("mode", ["native", "generic"])
def test_routed_backend_serves_through_the_uplink(e2e, mode):
    t = e2e.topology(backends=1, net=NET)
    router, host = t.client, t.host
    rc, fb = e2e.netns("rc"), e2e.netns("fb")
    veth(e2e.defer, f"{t.prefix}-rc0", router, "eth0", rc)
    veth(e2e.defer, f"{t.prefix}-fb0", router, "eth0", fb)
    router.addr_add(f"{t.prefix}-rc0", f"10.{NET}.7.1/24")
    router.addr_add(f"{t.prefix}-fb0", f"10.{NET}.6.1/24")
    rc.addr_add("eth0", f"10.{NET}.7.2/24")
    rc.ip("route", "add", "default", "via", f"10.{NET}.7.1")
    fb.addr_add("eth0", f"10.{NET}.6.2/24")
    fb.ip("route", "add", "default", "via", f"10.{NET}.6.1")
    for ns in (rc, fb):  # full checksums, as from a wire
        ns.run("ethtool", "-K", "eth0", "tx", "off")
    for ns in (router, host):
        ns.sysctl("net.ipv4.ip_forward", 1)
        ns.sysctl("net.ipv4.conf.all.rp_filter", 0)
        ns.sysctl("net.ipv4.conf.default.rp_filter", 0)
    # DNAT without SNAT: the backend's replies must reach the node that placed the flow.
    router.ip("rule", "add", "from", f"10.{NET}.6.0/24", "lookup", "172")
    router.ip("route", "add", "default", "via", t.vip, "table", "172")
    for net in (6, 7):
        host.ip("route", "add", f"10.{NET}.{net}.0/24", "via", t.client_ip)
    servers.httpd(e2e, fb, "far")
    client.wait_http(host, f"http://10.{NET}.6.2/")  # also the next hop's neighbour entry

    if mode == "native":
        assert os.path.exists(XDP_PASS_OBJ), f"{XDP_PASS_OBJ}: build target e2e_xdp_pass"
        router.ip("link", "set", "dev", "eth0", "xdpdrv", "obj", XDP_PASS_OBJ, "sec", "xdp")

    lb = e2e.xdplb(host)
    lb("attach", t.bridge, "--uplink", t.uplink, "--xdp-mode", mode)
    assert lb.status()["uplinks"] == [{"name": t.uplink, "xdp_mode": mode}]
    out = lb("backend", "add", f"10.{NET}.6.2").out
    assert "routed" in out, out
    assert lb.backend(f"10.{NET}.6.2")["path"] == "routed"

    pages = [client.http(rc, url(t.vip)) for _ in range(20)]
    assert pages == ["Served from far"] * 20, pages
    reasons = lb.status()["reasons"]
    assert reasons["fwd_routed"] >= 20 * 3, reasons  # SYN, ACKs, FIN of each request
    assert reasons["routed_reply"] >= 20 * 3, reasons
    assert reasons.get("drop_routed_reply", 0) == 0, reasons

    # The backend's ICMP port unreachable about a datagram to its closed UDP port 80 comes back
    # on the uplink: translated (from the VIP, quoting client -> VIP:8000), the client's
    # connected socket sees ECONNREFUSED.
    assert client.probe(rc, "udpc", t.vip) == "refused"
    reasons = lb.status()["reasons"]
    assert reasons["icmp_from_routed"] >= 1, reasons
    assert reasons.get("drop_icmp_routed", 0) == 0, reasons
    # status shows the stateless reply endpoints the node holds
    nats = {(n["backend"], n["port"], n["proto"]): n for n in lb.status()["reply_nats"]}
    for proto in ("tcp", "udp"):
        n = nats[(f"10.{NET}.6.2", 80, proto)]
        assert f"{t.vip}:8000" in n["serves"], n
        assert n["ambiguous"] == (len(n["serves"]) > 1), n
    # A port range onto one backend port: the backend's endpoint serves two VIP:ports, so
    # its replies without a reverse entry are dropped; status says so and lists both.
    lb("service", "add", "range", "--port", "9000-9001", "--proto", "udp", "--backend-port", "81",
       "--listen", t.vip)
    lb("backend", "add", f"10.{NET}.6.2", "--service", "range")
    n = {(n["backend"], n["port"], n["proto"]): n for n in lb.status()["reply_nats"]}[(f"10.{NET}.6.2", 81, "udp")]
    assert n == {"backend": f"10.{NET}.6.2", "port": 81, "proto": "udp", "ambiguous": True, "vip": "", "vport": 0,
                 "serves": [f"{t.vip}:9000", f"{t.vip}:9001"]}, n
    text = lb("status").out
    assert f"10.{NET}.6.2:81/udp" in text and "ambiguous: dropped" in text, text
