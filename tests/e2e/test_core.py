"""xdplb in front of three HTTP/UDP backends on a bridge, an external client on the uplink:
refusals that change nothing, balance, a 10 MB download, UDP, status, remove, detach."""
import json
import os

from lib import client, servers, url

NET = 81


def topology(e2e):
    """Host, client and 3 backends (busybox httpd + UDP answer each) and the CLI."""
    t = e2e.topology(backends=3, net=NET)
    t.big = e2e.big_file()
    for b in t.backends:
        servers.httpd(e2e, b.ns, b.name, big=t.big)
        servers.udp_reply(e2e, b.ns, b.name)
    for b in t.backends:
        client.wait_http(t.host, f"http://{b.ip}/")
        client.wait_udp(t.host, b.ip, 80)
    return t, e2e.xdplb(t.host)


def has_xdp(t):
    return "xdp" in json.loads(t.host.ip("-j", "link", "show", "dev", t.uplink).out)[0]


def test_refusals_before_attach_change_nothing(e2e):
    t, lb = topology(e2e)
    lb.fails("backend", "add", t.backend(1).ip, match="attach")
    lb.fails("attach", "nosuchbr0", "--uplink", t.uplink, match="nosuchbr0")
    lb.fails("attach", t.bridge, "--uplink", "nosuchup0", match="nosuchup0")
    lb.fails("attach", t.bridge, "--uplink", t.uplink, "--port", "0", match="port")
    lb.fails("attach", t.uplink, "--uplink", t.uplink, match="bridge")
    # Native XDP cannot attach to a bridge: an uplink whose driver has none.
    nx = f"{t.prefix}-nx"
    t.host.ip("link", "add", nx, "type", "bridge")
    t.host.addr_add(nx, f"10.{NET}.9.1/24")
    t.host.ip("link", "set", nx, "up")
    lb.fails("attach", t.bridge, "--uplink", nx, "--xdp-mode", "native", match="native")
    lb.fails("attach", t.bridge, "--uplink", t.uplink, "--xdp-mode", "turbo", match="xdp-mode")
    t.host.fails("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", lb.bin, "status",
                 match="root", env=lb.environ)
    assert not os.path.exists(os.path.join(lb.pin_root, t.bridge)), "pinned after failures"
    assert not has_xdp(t)


def test_attach_refuses_bad_backends(e2e):
    t, lb = topology(e2e)
    lb("attach", t.bridge, "--uplink", t.uplink)
    assert has_xdp(t), "XDP is on the uplink"
    lb.fails("attach", t.bridge, "--uplink", t.uplink, match="already attached")
    lb("backend", "add", t.backend(1).ip)
    lb.fails("backend", "add", "10.0.0.300", match="10.0.0.300")
    lb.fails("backend", "add", f"{t.backend(1).ip}:70000", match="65535")
    lb.fails("backend", "add", f"10.{NET}.0.99", "--weight", "0", match="weight")
    lb.fails("backend", "add", t.backend(1).ip, match="already")
    lb.fails("backend", "remove", f"10.{NET}.0.99", match=f"10.{NET}.0.99")
    assert [b["address"] for b in lb.status()["backends"]] == [t.backend(1).ip]


def test_balance_download_udp_remove_detach(e2e):
    t, lb = topology(e2e)
    lb("attach", t.bridge, "--uplink", t.uplink)
    for b in t.backends:
        lb("backend", "add", b.ip)
    print(lb("backend", "list").out)

    got = client.served_by(client.spread(t.client, url(t.vip), 30, first_port=40001))
    print(f"  30 requests to {t.vip}:8000: {dict(got)}")
    assert sum(got[b.name] for b in t.backends) == 30, "all 30 requests succeed"
    for b in t.backends:
        assert got[b.name] >= 5, f"{b.name} serves at least 5 of 30"

    same, _ = client.download(e2e, t.client, url(t.vip, "/big.bin"), t.big)
    assert same, "10 MB download through the load balancer is byte-identical"

    answer = client.udp(t.client, t.vip, sourceport=45000)
    assert answer in {"b1", "b2", "b3"}, "UDP answer comes from a backend, as the VIP"

    print(lb("status").out)
    assert sum(b["packets"] for b in lb.status()["backends"]) > 0, "status counts packets"

    lb("backend", "remove", t.backend(3).ip)
    got = client.served_by(client.spread(t.client, url(t.vip), 30, first_port=41001))
    print(f"  after removing b3: {dict(got)}")
    assert got["b1"] + got["b2"] == 30, "all 30 requests go to b1/b2 after remove"

    lb("detach", t.bridge)
    assert client.http(t.client, url(t.vip), timeout=2) is None, "8000 no longer served"
    assert not has_xdp(t), "no XDP left on the uplink"
    net = json.loads(t.host.run("bpftool", "-j", "net", "show", "dev", t.bridge).out)
    assert all(not entry.get("tc") for entry in net), f"no TC program left on the bridge: {net}"
    assert not os.path.exists(os.path.join(lb.pin_root, t.bridge)), "no pins left"
