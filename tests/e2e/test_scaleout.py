"""Scale-out: three xdplb nodes behind one router that spreads flows by ECMP over the routes
their BIRDs announce (controller/bgp). NET = 171.

    client ns {P}-cl 10.N.100.2 ── router ns {P}-rt (BIRD, merge paths, L4 ECMP hash)
                                     ├─ 10.N.1.1 ── node ns {P}-n1 up 10.N.1.2, BIRD AS 65001
                                     ├─ 10.N.2.1 ── node ns {P}-n2 ...
                                     └─ 10.N.3.1 ── node ns {P}-n3 ...
    each node: bridge br0 10.N.50.1/24, backends {P}-nKb1/b2 at 10.N.50.11/.12 (the same
    addresses on every node, so every node builds the same ring: same checksum), services web
    (VIP 10.N.200.1:8000 -> :80) and api (VIP 10.N.200.2:8001 -> :81), announced by BGP.

In test_three_nodes_behind_ecmp the backends are each node's own: a connection that ECMP
moves to another node is placed there by the same ring onto the same address, but on another
machine, which resets it. That test therefore measures what it can be exact about —
withdrawal on node loss, the time it takes, new connections afterwards, the share of held
connections that moved node (and so broke), re-announcement, a per-node withdrawal on health —
and asserts that nothing breaks outside the moments the router's ECMP set changes.
test_shared_backends_zero_broken_at_node_loss (NET 173) gives the nodes one shared set of
routed backends instead: there no held connection may break, whether the node is lost by a
detach with its link up (its VIP and return routes withdrawn before its datapath goes) or by
its uplink going down.
"""
import json
import os
import re
import time

import pytest

from lib import cmd
from lib.net import Netns, veth
from lib.wait import wait_until
from lib.xdplb import Xdplb

NET = 171
SHARED_NET = 173  # test_shared_backends_zero_broken_at_node_loss
HERE = os.path.dirname(os.path.abspath(__file__))
PEER = os.path.join(HERE, "scaleout_peer.py")
WEB_VIP, API_VIP = f"10.{NET}.200.1", f"10.{NET}.200.2"
BACKENDS = [f"10.{NET}.50.11", f"10.{NET}.50.12"]
HELD, SECONDS = 30, 34

ROUTER_CONF = """router id 10.{net}.100.1;
log "{log}" all;
protocol device {{ scan time 1; }}
protocol kernel {{
  ipv4 {{ export filter {{ if net ~ [ 10.{net}.100.0/24 ] then reject; accept; }}; }};
  merge paths on;
}}
{returns}{peers}
"""
# The nodes' return routes (the clients' prefix, announced by each attached node): from the
# routes learned into master4, a pipe into table 173 (the backends' policy table), whose
# kernel protocol installs them as one ECMP route; not into the main table, whose connected
# route to the clients stays.
ROUTER_RETURNS = """ipv4 table t173;
protocol pipe p173 {{
  table master4;
  peer table t173;
  export filter {{ if net ~ [ 10.{net}.100.0/24 ] then accept; reject; }};
  import none;
}}
protocol kernel k173 {{
  ipv4 {{ table t173; export all; }};
  kernel table 173;
  merge paths on;
}}
"""
ROUTER_PEER = """protocol bgp n{k} {{
  local 10.{net}.{k}.1 as 65000;
  neighbor 10.{net}.{k}.2 as 65001;
  connect delay time 1;
  connect retry time 1;
  error wait time 1, 2;
  ipv4 {{ import all; export none; }};
}}
"""

NODE_YAML = """bgp:
  asn: 65001
  router_id: "10.{net}.{k}.2"
  neighbors:
    - address: "10.{net}.{k}.1"
      asn: 65000
{exports}  bird_socket: "{dir}/bird.ctl"
  include: "{dir}/xdplb.conf"
{returns}bridges:
  - name: br0
    uplinks: [uplink0]
    host_local: false
    services:
{services}"""
SERVICE_YAML = """      - name: {name}
        port: {port}
        backend_port: {bport}
        proto: tcp
        listen: ["{vip}"]
        health:
          type: tcp
          interval_ms: 200
          fall: 2
        backends:
          - address: "{b1}:{bport}"
          - address: "{b2}:{bport}"
"""


class Node:
    """Node k: its uplink to the router (10.NET.k.2), a bridge, BIRD and an xdplb daemon. With
    `shared` (the addresses of backends behind the router) its services use those, routed;
    else each node has its own two backends behind its bridge."""

    def __init__(self, e2e, router, k, net=NET, shared=None, xdp_mode=None, return_routes=False):
        self.k = k
        self.net = net
        self.dir = e2e.path(f"n{k}")
        os.makedirs(self.dir)
        self.ns = e2e.netns(f"n{k}")
        self.ip = f"10.{net}.{k}.2"
        self.gateway = f"10.{net}.{k}.1"
        veth(e2e.defer, f"n{k}", router, "uplink0", self.ns)
        router.addr_add(f"n{k}", f"10.{net}.{k}.1/24")
        self.ns.addr_add("uplink0", f"{self.ip}/24")
        self.ns.ip("route", "add", "default", "via", self.gateway)
        vips = (f"10.{net}.200.1",) if shared else (WEB_VIP, API_VIP)
        for vip in vips:
            self.ns.addr_add("lo", f"{vip}/32")
        self.ns.sysctl("net.ipv4.ip_forward", 1)
        for fam in ("iptables", "ip6tables"):
            self.ns.sysctl(f"net.bridge.bridge-nf-call-{fam}", 0, check=False)
        self.ns.ip("link", "add", "br0", "type", "bridge")
        self.ns.addr_add("br0", f"10.{net}.50.1/24")
        self.ns.ip("link", "set", "br0", "up")
        self.servers = {}
        for j, addr in enumerate([] if shared else BACKENDS, 1):
            b = e2e.netns(f"n{k}b{j}")
            veth(e2e.defer, f"b{j}h", self.ns, "eth0", b)
            self.ns.ip("link", "set", f"b{j}h", "master", "br0", "up")
            b.addr_add("eth0", f"{addr}/24")
            b.ip("route", "add", "default", "via", f"10.{NET}.50.1")
            b.run("ethtool", "-K", "eth0", "gro", "on")  # NAPI for the XDP redirect
            for port in (80, 81):
                self.servers[(j, port)] = b.spawn(
                    ["/usr/bin/python3", PEER, "serve", f"n{k}b{j}", str(port)],
                    e2e.path(f"n{k}b{j}-{port}.log"), e2e.defer)
        # Its own xdplb: pins and state apart from the other nodes'.
        self.lb = Xdplb(e2e, self.ns)
        self.lb.pin_root = f"{self.lb.pin_root}-n{k}"
        self.lb.state_dir = os.path.join(self.dir, "state")
        self.lb.environ = dict(self.lb.environ, XDPLB_PIN_ROOT=self.lb.pin_root,
                               XDPLB_STATE_DIR=self.lb.state_dir)
        e2e.lbs.append(self.lb)
        self.conf = os.path.join(self.dir, "node.yaml")
        if shared:
            services = SERVICE_YAML.format(name="web", port=8000, bport=80, vip=vips[0], b1=shared[0], b2=shared[1])
        else:
            services = "".join(SERVICE_YAML.format(name=n, port=p, bport=bp, vip=v, b1=BACKENDS[0], b2=BACKENDS[1])
                               for n, p, bp, v in (("web", 8000, 80, WEB_VIP), ("api", 8001, 81, API_VIP)))
        # With return_routes, the node also announces the clients' prefix as the way back for
        # the backends' replies (to the one router, which faces both).
        text = NODE_YAML.format(net=net, k=k, dir=self.dir, services=services,
                                exports="      exports: [vips, return_routes]\n" if return_routes else "",
                                returns=f'  return_routes: ["10.{net}.100.0/24"]\n' if return_routes else "")
        if xdp_mode:
            text = text.replace("    uplinks: [uplink0]\n", f"    uplinks: [uplink0]\n    xdp_mode: {xdp_mode}\n")
        with open(self.conf, "w") as f:
            f.write(text)
        with open(os.path.join(self.dir, "bird.conf"), "w") as f:
            f.write(f'log "{self.dir}/bird.log" all;\ninclude "{self.dir}/xdplb.conf";\n')
        self.daemon = None
        self.bird = None
        self.e2e = e2e

    def start(self):
        self.lb("apply", "-f", self.conf)
        self.applied_at = time.monotonic()  # attach (BPF load + verify) done; the daemon comes next
        self.daemon = self.lb.daemon(os.path.join(self.dir, f"daemon-{time.monotonic_ns()}.log"),
                                     "--withdraw-on-stop")
        if self.bird is None:
            # BIRD reads the include the daemon writes (the daemon retries until BIRD answers).
            wait_until(lambda: os.path.exists(os.path.join(self.dir, "xdplb.conf")), 10,
                       f"node {self.k}'s daemon to write its BIRD include")
            self.bird = self.ns.spawn(["bird", "-f", "-c", os.path.join(self.dir, "bird.conf"),
                                       "-s", os.path.join(self.dir, "bird.ctl"),
                                       "-P", os.path.join(self.dir, "bird.pid")],
                                      os.path.join(self.dir, "bird.out"), self.e2e.defer)

    def checksums(self):
        st = self.lb.status()
        return {s["name"]: s["ring_checksum"] for s in st["services"]}, st.get("bgp", {})


def nexthops(router, vip):
    """The node addresses the router's route to vip goes through (empty: no route)."""
    out = router.ip("route", "show", f"{vip}/32").out
    return sorted(set(re.findall(r"via (\S+)", out)))


def return_hops(router, net):
    """The node addresses the router's route back to the clients goes through in the backends'
    policy table 173 (empty: none)."""
    out = router.ip("route", "show", "table", "173", f"10.{net}.100.0/24").out
    return sorted(set(re.findall(r"via (\S+)", out)))


def node_of(name):
    return name.split("b")[0]  # "n2b1" -> "n2"


def router_with_nodes(e2e, net, **node_kw):
    """The router (BIRD, ECMP with an L4 hash), a client behind it and three nodes peering
    with it; returns (router, client, nodes) with the router's BIRD running and the nodes not
    started. With return_routes=True the router's BIRD installs the nodes' return routes into
    table 173."""
    router = e2e.netns("rt")
    # Before its links exist, so each one takes these: a node's link that goes down leaves
    # every multipath route through it (routes_with_linkdown ignored); the nodes' DNATed
    # requests (the client's source from a node's link) are forwarded.
    for key, value in (("ip_forward", 1), ("fib_multipath_hash_policy", 1), ("conf.all.rp_filter", 0),
                       ("conf.default.rp_filter", 0), ("conf.all.ignore_routes_with_linkdown", 1),
                       ("conf.default.ignore_routes_with_linkdown", 1)):
        router.sysctl(f"net.ipv4.{key}", value)
    cl = e2e.netns("cl")
    veth(e2e.defer, "cli", router, "eth0", cl)
    router.addr_add("cli", f"10.{net}.100.1/24")
    cl.addr_add("eth0", f"10.{net}.100.2/24")
    cl.ip("route", "add", "default", "via", f"10.{net}.100.1")
    cl.run("ethtool", "-K", "eth0", "tx", "off")  # full checksums, like wire traffic
    nodes = [Node(e2e, router, k, net=net, **node_kw) for k in (1, 2, 3)]
    rdir = e2e.path("router")
    os.makedirs(rdir)
    with open(os.path.join(rdir, "bird.conf"), "w") as f:
        f.write(ROUTER_CONF.format(net=net, log=f"{rdir}/bird.log",
                                   returns=ROUTER_RETURNS.format(net=net) if node_kw.get("return_routes") else "",
                                   peers="".join(ROUTER_PEER.format(net=net, k=k) for k in (1, 2, 3))))
    router.spawn(["bird", "-f", "-c", f"{rdir}/bird.conf", "-s", f"{rdir}/bird.ctl", "-P", f"{rdir}/bird.pid"],
                 f"{rdir}/bird.out", e2e.defer)
    return router, cl, nodes


def test_three_nodes_behind_ecmp(e2e):
    router, cl, nodes = router_with_nodes(e2e, NET)
    for n in nodes:
        n.start()
    all3 = [n.ip for n in nodes]
    t_start = time.monotonic()
    for vip in (WEB_VIP, API_VIP):
        wait_until(lambda: nexthops(router, vip), 30, f"ECMP over all three nodes for {vip}",
                   ok=lambda hops: hops == all3)
    print(f"all three nodes announce after {time.monotonic() - t_start:.1f} s")

    # export carries the bgp: section, so applying what it writes keeps it.
    exported = nodes[0].lb("export").out
    assert "bgp:\n  asn: 65001\n" in exported, exported
    assert "no difference" in cmd.run([nodes[0].lb.bin, "apply", "--dry-run", "-f", "-"], ns=nodes[0].ns,
                                      env=nodes[0].lb.environ, input=exported).out

    sums = [n.checksums() for n in nodes]
    print("ring checksums:", [s[0] for s in sums])
    assert sums[0][0] == sums[1][0] == sums[2][0], f"same backends, same rings on every node: {sums}"
    assert [r["vip"] for r in sums[0][1]["announced"]] == [WEB_VIP, API_VIP], sums[0][1]
    assert "announces 10.171.200.1 (web), 10.171.200.2 (api)" in nodes[0].lb("status").out

    load = cl.spawn(["/usr/bin/python3", PEER, "clients", WEB_VIP, "8000", str(HELD), str(SECONDS)],
                    e2e.path("clients.log"), e2e.defer)
    load.wait_output("started", 10)
    time.sleep(6)

    # Node 2's datapath goes: the detach withdraws its VIPs first and returns once its BIRD
    # exports none of them and the hold (bgp: withdraw_hold_ms) is over.
    lost_at = time.time()
    t0 = time.monotonic()
    detached = nodes[1].lb("detach", "br0").out
    assert "withdrew br0's routes" in detached, detached
    assert nexthops(router, WEB_VIP) == [nodes[0].ip, nodes[2].ip], "withdrawn at the router before the detach is done"
    withdraw_s = time.monotonic() - t0
    withdrawn_at = time.time()
    print(f"node 2 lost: withdrawn at the router, then its datapath removed, in {withdraw_s * 1000:.0f} ms")
    time.sleep(6)

    # Node 2 back: a new daemon on a re-applied bridge announces again.
    nodes[1].daemon.stop()
    back_at = time.time()
    t1 = time.monotonic()
    nodes[1].start()
    wait_until(lambda: nexthops(router, WEB_VIP), 10, "node 2 back in the ECMP set",
               ok=lambda hops: hops == all3, interval=0.05)
    announce_s = time.monotonic() - t1
    announced_at = time.time()
    print(f"node 2 back: announced again {announce_s * 1000:.0f} ms after its re-attach began, "
          f"{(time.monotonic() - nodes[1].applied_at) * 1000:.0f} ms after the attach was done")
    time.sleep(4)

    # api loses its backends on node 3 only: withdrawn there, kept on nodes 1 and 2.
    t2 = time.monotonic()
    for j in (1, 2):
        nodes[2].servers[(j, 81)].stop()
    wait_until(lambda: nexthops(router, API_VIP), 10, "api withdrawn on node 3 only",
               ok=lambda hops: hops == [nodes[0].ip, nodes[1].ip], interval=0.05)
    print(f"api unhealthy on node 3: withdrawn there after {(time.monotonic() - t2) * 1000:.0f} ms")
    assert nexthops(router, WEB_VIP) == all3, "web still on all three"

    load.wait(timeout=SECONDS + 30)
    result = json.loads(load.output().strip().splitlines()[-1])
    held = result["held"]
    assert len(held) == HELD
    windows = [(lost_at, withdrawn_at + 1.0), (back_at, announced_at + 1.0)]

    def in_window(t):
        return any(a <= t <= b for a, b in windows)

    first_nodes = [node_of(h["seen"][0]) for h in held if h["seen"]]
    spread = {n: first_nodes.count(n) for n in sorted(set(first_nodes))}
    broken = [h for h in held if h["broken"]]
    moved = [h for h in held if len({node_of(s) for s in h["seen"]}) > 1 or h["broken"]]
    new = result["new"]
    print(f"held connections {HELD}: first spread {spread}; broken {len(broken)} "
          f"({len(broken) / HELD:.0%}); moved node {len(moved)} ({len(moved) / HELD:.0%})")
    print(f"new connections {new['total']}: failed {len(new['failures'])}")
    for h in broken:
        print("  broken:", h)
    assert len(spread) >= 2, f"flows spread over the nodes: {spread}"
    assert all(h["seen"] for h in held), "every held connection got answers"
    outside = [h for h in broken if not in_window(h["broken"]["at"])]
    assert not outside, f"held connections broken away from a change of the ECMP set: {outside}"
    late = [f for f in new["failures"] if not in_window(f["at"])]
    assert not late, f"new connections failed away from a change of the ECMP set: {late}"
    assert new["total"] > 200, new["total"]

    # Node 1's daemon stops (--withdraw-on-stop): its routes go before it exits.
    t3 = time.monotonic()
    assert nodes[0].daemon.stop() == 0
    # BIRD has sent the withdrawal when the daemon exits; the router needs a moment for it.
    wait_until(lambda: (nexthops(router, WEB_VIP), nexthops(router, API_VIP)), 2,
               "node 1's routes withdrawn by its stopping daemon",
               ok=lambda hops: hops == ([nodes[1].ip, nodes[2].ip], [nodes[1].ip]), interval=0.01)
    print(f"node 1's daemon stopped with --withdraw-on-stop: withdrawn within {(time.monotonic() - t3) * 1000:.0f} ms")

    # Node 3 vanishes without a word (its uplink goes down): the router's BIRD sees the link
    # go (direct session, check link) and drops its routes.
    t4 = time.monotonic()
    nodes[2].ns.ip("link", "set", "uplink0", "down")
    wait_until(lambda: nexthops(router, WEB_VIP), 5, "node 3's routes gone with its link",
               ok=lambda hops: hops == [nodes[1].ip], interval=0.01)
    print(f"node 3's uplink down: its routes gone at the router after {(time.monotonic() - t4) * 1000:.0f} ms")


@pytest.mark.parametrize("loss", ["detach", "uplink_down"])
def test_shared_backends_zero_broken_at_node_loss(e2e, loss):
    """Three nodes share two routed backends behind the router; the backends' replies to the
    client go back through any node (the router spreads them by ECMP of their own 5-tuple, so
    mostly not through the node that placed the flow): translated there without state
    (routed_reply_stateless). The way back is the nodes' return routes (10.N.100.0/24, the
    clients' prefix), learned by the router's BIRD into the backends' policy table 173. A node
    lost under held connections breaks none of them: ECMP moves its flows to the others, which
    place them by the same ring onto the same backend. The loss is either a detach with the
    link up (`detach`: the node withdraws its VIP and its return route, waits until the
    router is told, then removes its datapath) or the uplink going down first (`uplink_down`:
    the router's BIRD drops the session, its kernel every route through that link), then the
    detach. NET = 173.

        backends {P}-sb1 10.N.61.2, {P}-sb2 10.N.62.2 ── router: from 10.N.60.0/22 to the
        clients -> table 173: ECMP over the nodes that announce the return route
    """
    net = SHARED_NET
    shared = [f"10.{net}.61.2", f"10.{net}.62.2"]
    vip = f"10.{net}.200.1"
    # Generic XDP: in native mode on these veth uplinks the router's forwarded replies do not
    # reach the program (as in test_routed.py).
    router, cl, nodes = router_with_nodes(e2e, net, shared=shared, xdp_mode="generic", return_routes=True)
    for j, addr in enumerate(shared, 1):
        b = e2e.netns(f"sb{j}")
        veth(e2e.defer, f"sb{j}", router, "eth0", b)
        router.addr_add(f"sb{j}", f"10.{net}.6{j}.1/24")
        b.addr_add("eth0", f"{addr}/24")
        b.ip("route", "add", "default", "via", f"10.{net}.6{j}.1")
        b.run("ethtool", "-K", "eth0", "tx", "off")
        b.spawn(["/usr/bin/python3", PEER, "serve", f"sb{j}", "80"], e2e.path(f"sb{j}.log"), e2e.defer)
    # DNAT without SNAT: what the backends send the clients goes through a node (any node that
    # announces the way back).
    router.ip("rule", "add", "from", f"10.{net}.60.0/22", "to", f"10.{net}.100.0/24", "lookup", "173")

    for n in nodes:
        n.start()
    all3 = [n.ip for n in nodes]
    t_start = time.monotonic()
    wait_until(lambda: nexthops(router, vip), 30, f"ECMP over all three nodes for {vip}", ok=lambda h: h == all3)
    wait_until(lambda: return_hops(router, net), 10, "the return routes of all three nodes in table 173",
               ok=lambda h: h == all3)
    print(f"all three nodes announce (VIP and return route) after {time.monotonic() - t_start:.1f} s")
    sums = [n.checksums() for n in nodes]
    assert sums[0][0] == sums[1][0] == sums[2][0], f"same backends, same rings on every node: {sums}"
    assert sums[0][1]["announced_return_routes"] == [f"10.{net}.100.0/24"], sums[0][1]
    assert f"return routes 10.{net}.100.0/24 (while attached" in nodes[0].lb("status").out
    for n in nodes:
        assert [n.lb.backend(a)["path"] for a in shared] == ["routed", "routed"]

    def reasons(n, name):
        return n.lb.status()["reasons"].get(name, 0)

    seconds = 34  # loss at 6 s, back at 12-14 s (its attach takes 5-12 s on a busy machine)
    load = cl.spawn(["/usr/bin/python3", PEER, "clients", vip, "8000", str(HELD), str(seconds)],
                    e2e.path("clients.log"), e2e.defer)
    load.wait_output("started", 10)
    time.sleep(6)

    before = {n.k: reasons(n, "flow_midstream") for n in nodes}
    others = [nodes[0].ip, nodes[2].ip]
    lost_at = time.time()
    t0 = time.monotonic()
    if loss == "detach":
        # Node 2 is detached, its link up: the detach withdraws both routes and waits until its
        # BIRD exports neither (plus the hold) before its datapath goes. The router is watched
        # meanwhile: when each route loses node 2.
        detach = cmd.spawn([nodes[1].lb.bin, "detach", "br0"], e2e.path("n2-detach.log"), ns=nodes[1].ns,
                           defer=e2e.defer, env=nodes[1].lb.environ)
        gone = {}
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (len(gone) < 2 or detach.running()):
            now = time.monotonic()
            if "vip" not in gone and nexthops(router, vip) == others:
                gone["vip"] = now - t0
            if "return" not in gone and return_hops(router, net) == others:
                gone["return"] = now - t0
            time.sleep(0.01)
        assert detach.wait(timeout=10) == 0, detach.output()
        detach_ms = (time.monotonic() - t0) * 1000
        print(detach.output().strip())
        assert "withdrew br0's routes" in detach.output(), detach.output()
        assert set(gone) == {"vip", "return"}, f"both routes withdrawn at the router: {gone}"
        withdraw_ms = max(gone.values()) * 1000
        print(f"node 2 detached with its link up: at the router the VIP lost it after {gone['vip'] * 1000:.0f} ms, "
              f"the return route after {gone['return'] * 1000:.0f} ms; the detach took {detach_ms:.0f} ms")
    else:
        # Node 2's uplink goes (the router's BIRD drops the session, its kernel every route
        # through that link), then its datapath.
        nodes[1].ns.ip("link", "set", "uplink0", "down")
        wait_until(lambda: (nexthops(router, vip), return_hops(router, net)), 5, "node 2's withdrawal",
                   ok=lambda hops: hops == (others, others), interval=0.01)
        withdraw_ms = (time.monotonic() - t0) * 1000
        nodes[1].lb("detach", "br0")
        print(f"node 2's uplink down: both routes gone at the router after {withdraw_ms:.0f} ms")
    withdrawn_at = time.time()
    time.sleep(6)
    moved_out = sum(reasons(n, "flow_midstream") - before[n.k] for n in (nodes[0], nodes[2]))

    # Node 2 back: its return route comes with its datapath (announced once it is attached).
    # After an uplink loss it is attached while its link is still down, then the link.
    nodes[1].daemon.stop()
    back_at = time.time()
    nodes[1].start()
    if loss == "uplink_down":
        nodes[1].ns.ip("link", "set", "uplink0", "up")
        nodes[1].ns.ip("route", "replace", "default", "via", nodes[1].gateway)
    t1 = time.monotonic()
    wait_until(lambda: (nexthops(router, vip), return_hops(router, net)), 15, "node 2 back in both ECMP sets",
               ok=lambda h: h == (all3, all3), interval=0.05)
    announced_at = time.time()
    print(f"node 2 back: announced {(time.monotonic() - t1) * 1000:.0f} ms after its "
          f"{'link came up' if loss == 'uplink_down' else 'attach was done'}")

    assert load.running(), "the held connections outlasted node 2's return"
    load.wait(timeout=seconds + 30)
    result = json.loads(load.output().strip().splitlines()[-1])
    held, new = result["held"], result["new"]
    assert len(held) == HELD
    broken = [h for h in held if h["broken"]]
    stateless = {n.k: reasons(n, "routed_reply_stateless") for n in nodes}
    moved_back = reasons(nodes[1], "flow_midstream")
    dropped = {n.k: reasons(n, "drop_routed_reply") for n in nodes}
    print(f"[{loss}] held connections {HELD}: broken {len(broken)}; moved node at the loss ~{moved_out} "
          f"({moved_out / HELD:.0%}), back to node 2 ~{moved_back}; withdrawn at the router in {withdraw_ms:.0f} ms")
    print(f"replies translated without state per node: {stateless}; dropped: {dropped}")
    print(f"new connections {new['total']}: failed {len(new['failures'])}: {new['failures']}")
    assert not broken, f"held connections broken: {broken}"
    assert all(h["seen"] for h in held), "every held connection got answers"
    assert moved_out > 0, "node 2 held some of the connections (moved at its loss)"
    assert all(stateless[k] > 0 for k in (1, 3)), f"replies of flows placed elsewhere: {stateless}"
    windows = [(lost_at, withdrawn_at + 1.0), (back_at, announced_at + 1.0)]
    late = [f for f in new["failures"] if not any(a <= f["at"] <= b for a, b in windows)]
    assert not late, f"new connections failed away from a change of the ECMP set: {late}"
    assert new["total"] > 200, new["total"]
