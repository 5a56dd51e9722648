"""Every client path of a service, TCP and UDP, with data checked:
  external  client namespace -> uplink (XDP)                       keeps its own address
  host      a process in the host namespace -> 127.0.0.1 / uplink / bridge address (cgroup
            socket hooks), and a second namespace is untouched by them
  hairpin   a backend -> bridge address / uplink address (TC on the bridge, DNAT + SNAT to the
            bridge address from the reserved port range), also served by itself
Backends report the client address they see, so each path's source address is checked too."""
import json
import os
import time

from lib import client, run, servers, url
from pathchecks import HAIRPIN_PORTS, assert_both_served, assert_only, check_hairpin_path, \
    check_host_path, parse_peer

NET = 83


def cgroup_root():
    with open("/proc/mounts") as f:
        return next(line.split()[1] for line in f if line.split()[2] == "cgroup2")


def cgroup_prog_ids(root):
    """Program ids on the cgroup root. Other tests may attach their own at any time, so checks
    compare ids of our own links, never plain counts."""
    return {p["id"] for p in json.loads(run(["bpftool", "-j", "cgroup", "show", root]).out.strip() or "[]")}


def our_hook_ids(lb, bridge):
    """Program ids of our pinned host-local links."""
    d = os.path.join(lb.pin_root, bridge)
    names = sorted(f for f in os.listdir(d) if f.startswith("link_hostlocal_")) if os.path.isdir(d) else []
    return {json.loads(run(["bpftool", "-j", "link", "show", "pinned", os.path.join(d, f)]).out)["prog_id"]
            for f in names}


def topology(e2e):
    """Host, client, other and 2 backends (httpd with big.bin + UDP peer answers)."""
    t = e2e.topology(backends=2, net=NET)
    t.big = e2e.big_file()
    for b in t.backends:
        servers.httpd(e2e, b.ns, b.name, big=t.big)
        servers.udp_reply(e2e, b.ns, b.name, peer=True)
    for b in t.backends:
        client.wait_http(t.host, f"http://{b.ip}/")
        client.wait_udp(t.host, b.ip, 80)
    return t, e2e.xdplb(t.host)


def test_every_client_path(e2e):
    t, lb = topology(e2e)
    # The other namespace has its own servers on 127.0.0.1:8000: the hooks must leave it alone.
    other = e2e.netns("oth")
    www = e2e.path("www-other")
    os.makedirs(www)
    with open(os.path.join(www, "index.html"), "w") as f:
        f.write("other namespace\n")
    servers.httpd(e2e, other, "other", port=8000, bind="127.0.0.1", www=www)
    servers.udp_reply(e2e, other, "other", port=8000, bind="127.0.0.1", text="other namespace")
    client.wait_http(other, "http://127.0.0.1:8000/")
    client.wait_udp(other, "127.0.0.1", 8000)

    b1, b2 = t.backends
    assert client.download(e2e, t.host, f"http://{b1.ip}/big.bin", t.big)[0], "baseline, no LB"

    print("attach (host-local on by default)")
    lb("attach", t.bridge, "--uplink", t.uplink)
    for b in t.backends:
        lb("backend", "add", b.ip)
    root = cgroup_root()
    hooks = our_hook_ids(lb, t.bridge)
    print(f"  hook programs: {sorted(hooks)}")
    assert len(hooks) == 9, "9 hook programs (IPv4 + IPv6, sock_release included)"
    assert hooks <= cgroup_prog_ids(root), f"all on the cgroup root ({root})"
    pins = [f for f in os.listdir(os.path.join(lb.pin_root, t.bridge)) if f.startswith("link_hostlocal_")]
    assert len(pins) == 9, "host-local links pinned next to the datapath's"
    assert lb.status()["host_local"] is True, "status says host-local is on"

    print(f"external client -> {t.vip}:8000 (XDP)")
    assert_both_served(client.served_by(client.spread(t.client, url(t.vip), 20)), 20)
    assert client.download(e2e, t.client, url(t.vip, "/big.bin"), t.big)[0], "external 10 MB"
    udp = client.udp(t.client, t.vip)
    assert parse_peer(udp)[0] in ("b1", "b2"), f"external UDP answered by a backend: {udp}"

    for target in ("127.0.0.1", t.vip, t.bridge_ip):
        check_host_path(e2e, t, target, t.big)

    print("another namespace is untouched by the hooks")
    assert client.http(other, "http://127.0.0.1:8000/") == "other namespace"
    assert client.udp(other, "127.0.0.1") == "other namespace"

    print("client address as the backend sees it")
    name, addr, _ = parse_peer(client.http(t.client, url(t.vip, "/cgi-bin/peer")))
    assert (name in ("b1", "b2"), addr) == (True, t.client_ip), "external TCP keeps its address"
    udp = client.udp(t.client, t.vip, sourceport=45123)
    name, addr, port = parse_peer(udp)
    assert (name in ("b1", "b2"), addr, port) == (True, t.client_ip, 45123), \
        f"external UDP keeps its address and port: {udp}"
    name, addr, _ = parse_peer(client.http(t.host, "http://127.0.0.1:8000/cgi-bin/peer"))
    assert addr == t.bridge_ip, "host-local client appears as the bridge address"

    for target in (t.bridge_ip, t.vip):
        check_hairpin_path(e2e, t, target, t.bridge_ip, t.big)

    print("hairpin under concurrency: 200 connections open at once from b1")
    urls = [url(t.bridge_ip, f"/cgi-bin/slow?n={i}") for i in range(1, 201)]  # 2 s each
    start = time.monotonic()
    r = b1.ns.run("curl", "-s", "-Z", "--parallel-immediate", "--parallel-max", "200",
                  "--max-time", "30", *urls, check=False, timeout=40)
    secs = time.monotonic() - start
    answers = [parse_peer(line) for line in r.out.splitlines()]
    print(f"  200 parallel 2-second requests took {secs:.1f} s; answers: {len(answers)}")
    lo, hi = HAIRPIN_PORTS
    assert len(answers) == 200 and all(a[0] in ("b1", "b2") for a in answers), "all 200 answered"
    bad = [a for a in answers if a[1] != t.bridge_ip or not lo <= a[2] <= hi]
    assert not bad, f"all from {t.bridge_ip} with ports in {lo}-{hi}: {bad[:5]}"
    assert len({(a[0], a[2]) for a in answers}) == 200, "no two share (backend, SNAT port)"
    assert secs < 30, "the 200 overlapped (well under 200 x 2 s)"
    assert lb.status()["reasons"]["tc_hairpin_new"] >= 200, "status counts hairpin flows"

    print("backend b2 removed: host-local and hairpin clients go to b1 only")
    lb("backend", "remove", b2.ip)
    assert_only(t.host, "http://127.0.0.1:8000/", 10, "b1")
    assert_only(b1.ns, url(t.bridge_ip), 10, "b1")
    lb("backend", "add", b2.ip)

    print("detach removes the hooks")
    lb("detach", t.bridge)
    assert not hooks & cgroup_prog_ids(root), "none of our hook programs left on the cgroup root"
    assert client.http(t.host, "http://127.0.0.1:8000/", timeout=2) is None, "127.0.0.1:8000 not served"


def test_no_host_local_and_hairpin_ports(e2e):
    t, lb = topology(e2e)
    lb.fails("attach", t.bridge, "--uplink", t.uplink, "--hairpin-ports", "65000-61000",
             match="hairpin-ports")
    assert not lb.attached(), "an inverted --hairpin-ports range pins nothing"
    lb("attach", t.bridge, "--uplink", t.uplink, "--no-host-local", "--hairpin-ports", "62000-62099")
    for b in t.backends:
        lb("backend", "add", b.ip)
    assert not our_hook_ids(lb, t.bridge), "no host-local links with --no-host-local"
    assert lb.status()["host_local"] is False, "status says host-local is off"
    assert client.http(t.host, "http://127.0.0.1:8000/", timeout=2) is None, "host not served"
    assert (client.http(t.client, url(t.vip)) or "").startswith("Served from b"), "external still served"
    name, addr, port = parse_peer(client.http(t.backend(2).ns, url(t.bridge_ip, "/cgi-bin/peer")))
    assert addr == t.bridge_ip and 62000 <= port <= 62099, f"hairpin uses --hairpin-ports: {addr}:{port}"
    lb.fails("attach", t.bridge, "--uplink", t.uplink, "--hairpin-ports", "65000-61000",
             match="hairpin-ports")
    lb("detach", t.bridge)
