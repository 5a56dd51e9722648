"""IPv6 on every client path, TCP and UDP, with data checked — next to IPv4 on the same
dual-stack topology (one pool per family: IPv6 VIPs are served by IPv6 backends).
  external  client namespace -> [uplink IPv6]:8000 (XDP), keeps its own address
  host      a process in the host namespace -> [::1] / [uplink] / [bridge]:8000 (cgroup hooks)
  hairpin   a backend -> [bridge] / [uplink]:8000 (TC on the bridge, DNAT + SNAT to the
            bridge's IPv6 address from the reserved port range), served by itself too
b1 is on the fast path (devmap redirect), b2 on the pass path (--no-fast-path): both kinds of
IPv6 forwarding are crossed. ICMPv6 and neighbour discovery must keep working untouched."""
import json

from lib import client, servers, url
from pathchecks import assert_both_served, assert_only, check_hairpin_path, check_host_path, \
    parse_peer

NET = 84


def test_ipv6_every_client_path(e2e):
    t = e2e.topology(backends=2, net=NET, ipv6=True)
    big = e2e.big_file()
    for b in t.backends:
        servers.httpd(e2e, b.ns, b.name, big=big)
        servers.udp_reply(e2e, b.ns, b.name, peer=True)
        servers.udp_reply(e2e, b.ns, b.name, peer=True, v6=True)
    for b in t.backends:
        client.wait_http(t.host, f"http://[{b.ip6}]/")
        client.wait_udp(t.host, b.ip6, 80)
        client.wait_udp(t.host, b.ip, 80)
    t.host.sysctl("net.ipv6.conf.all.forwarding", 0)  # xdplb must not need it
    b1, b2 = t.backends
    lb = e2e.xdplb(t.host)

    print("attach; IPv4 and IPv6 backends")
    out = lb("attach", t.bridge, "--uplink", t.uplink).out
    print(out)
    for at in (t.vip6, t.bridge_ip6, "::1"):
        assert f"serving [{at}]:8000" in out, f"attach serves [{at}]:8000"
    assert t.host.sysctl(f"net.ipv6.conf.{t.bridge}.forwarding") == "1", "IPv6 forwarding on the bridge"
    assert t.host.sysctl(f"net.ipv6.conf.{t.uplink}.force_forwarding") == "1", "force_forwarding on the uplink"
    assert t.host.sysctl("net.ipv6.conf.all.forwarding") == "0", "and not for all"
    lb("backend", "add", b1.ip)
    lb("backend", "add", b2.ip)
    lb("backend", "add", b1.ip6)
    lb("backend", "add", f"[{b2.ip6}]:80", "--no-fast-path")
    status = lb.status()
    assert lb.backend(b1.ip6, status)["path"] == "redirect", "b1 (IPv6) on the redirect path"
    assert lb.backend(b2.ip6, status)["path"] == "pass", "b2 (IPv6) on the pass path"
    lb.fails("backend", "add", f"[{b1.ip6}]:80", match="already a backend")
    lb.fails("backend", "add", "fd84::zz", match="address|invalid|not")

    print(f"external client -> [{t.vip6}]:8000 (XDP)")
    assert_both_served(client.served_by(client.spread(t.client, url(t.vip6), 20)), 20)
    assert client.download(e2e, t.client, url(t.vip6, "/big.bin"), big)[0], "external TCP6 10 MB"
    answers = [parse_peer(client.udp(t.client, t.vip6)) for _ in range(6)]
    assert all(a[0] in ("b1", "b2") and a[1] == t.client_ip6 and a[2] > 0 for a in answers), \
        f"external UDP6: 6 of 6 answered by an IPv6 backend that sees {t.client_ip6}: {answers}"
    name, addr, _ = parse_peer(client.http(t.client, url(t.vip6, "/cgi-bin/peer")))
    assert addr == t.client_ip6, "external TCP6 client keeps its address up to the backend"
    got = client.served_by(client.spread(t.client, url(t.vip), 10))
    assert sum(got[b.name] for b in t.backends) == 10, f"IPv4 on the same service still served: {got}"
    t.client.run("busybox", "ping", "-6", "-c", "2", "-W", "2", t.vip6)  # ICMPv6 left alone
    neigh = json.loads(t.client.ip("-j", "-6", "neigh", "show", t.vip6).out)
    assert neigh and set(neigh[0].get("state", [])) & {"REACHABLE", "STALE", "DELAY", "PROBE"}, \
        f"neighbour discovery on the uplink resolved the VIP: {neigh}"

    for target in ("::1", t.vip6, t.bridge_ip6):
        check_host_path(e2e, t, target, big)
    name, addr, _ = parse_peer(client.http(t.host, "http://[::1]:8000/cgi-bin/peer"))
    assert addr == t.bridge_ip6, "host-local IPv6 client appears as the bridge address"

    for target in (t.bridge_ip6, t.vip6):
        check_hairpin_path(e2e, t, target, t.bridge_ip6, big)

    print("IPv6 backend b2 removed: IPv6 clients of every path go to b1 only, IPv4 keeps both")
    lb("backend", "remove", b2.ip6)
    assert_only(t.client, url(t.vip6), 10, "b1")
    assert_only(t.host, "http://[::1]:8000/", 10, "b1")
    assert_only(b2.ns, url(t.bridge_ip6), 10, "b1")
    assert_both_served(client.served_by(client.spread(t.client, url(t.vip), 20)), 20)
    lb("detach", t.bridge)
