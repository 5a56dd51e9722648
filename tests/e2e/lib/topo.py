"""The standard topology of the tests, the benchmarks and the demo: another machine, a host,
a bridge with backend namespaces.

    client ns {P}-cli ──veth── host ns {P}-host: uplink {P}-up   (VIP 10.N.1.1/24)
      eth0 10.N.1.2                              bridge {P}-br   (10.N.0.1/24)
                                  port {P}-bKh ──veth── eth0 @ backend ns {P}-bK (10.N.0.{10+K})
With ipv6=True also fd42:N:1::1 (VIP), fd42:N:1::2 (client), fd42:N::1 (bridge), fd42:N::{10+K}
(backends). host_ns=False puts the uplink in the root namespace; bridge=False makes no bridge
and no backends (container tests and the demo: LXD or LXC bring the bridge, 10.N.0.1/24,
fd42:N::1/64). extras={"px": 100} adds more namespaces on the bridge like backends
({P}-px at 10.N.0.100, port {P}-pxh); napi=True turns GRO on at the uplink and at the
container side of every port (NAPI, which XDP redirects into a veth need); queues=N gives
both ends of the uplink and of every port veth N RX and TX queues (the benchmark's two-queue
row: a frame a veth receives on CPU c goes to its queue c % N).

Topology(...) only names things (pure); build(defer) creates them, defer removes them.
`python3 tests/e2e/topology.py` is the command-line face for shell scripts.
"""
from .net import ROOT, Netns, bridge as make_bridge, veth


class Backend:
    """A namespace on the bridge: ns {P}-{name}, host-side port {P}-{name}h."""

    def __init__(self, topo, name, host_part, k=None):
        self.k = k
        self.name = name
        self.ns = Netns(f"{topo.prefix}-{name}")
        self.host_port = f"{topo.prefix}-{name}h"
        self.ip = f"10.{topo.net}.0.{host_part}"
        self.ip6 = f"fd42:{topo.net}::{host_part}" if topo.ipv6 else None
        self._topo = topo

    def __repr__(self):
        return f"Backend({self.name} {self.ip})"

    def link_down(self):
        """The backend vanishes without a word (no RST): its link goes down."""
        self.ns.ip("link", "set", "eth0", "down")

    def link_up(self):
        self.ns.ip("link", "set", "eth0", "up")
        self.ns.ip("route", "replace", "default", "via", self._topo.bridge_ip)


class Topology:
    def __init__(self, prefix, backends, net=81, ipv6=False, host_ns=True, bridge=True,
                 extras=None, napi=False, queues=1):
        self.prefix, self.net, self.ipv6, self.napi = prefix, net, ipv6, napi
        self.queues = queues
        self.has_bridge = bridge
        self.vip = f"10.{net}.1.1"
        self.client_ip = f"10.{net}.1.2"
        self.bridge_ip = f"10.{net}.0.1"
        self.vip6 = f"fd42:{net}:1::1" if ipv6 else None
        self.client_ip6 = f"fd42:{net}:1::2" if ipv6 else None
        self.bridge_ip6 = f"fd42:{net}::1" if ipv6 else None
        self.bridge_net6 = f"fd42:{net}::/64" if ipv6 else None
        self.bridge_cidrs = [f"{self.bridge_ip}/24"] + ([f"{self.bridge_ip6}/64"] if ipv6 else [])
        self.uplink = f"{prefix}-up"
        self.bridge = f"{prefix}-br"
        self.host = Netns(f"{prefix}-host") if host_ns else ROOT
        self.client = Netns(f"{prefix}-cli")
        n = backends if bridge else 0
        self.backends = [Backend(self, f"b{k}", 10 + k, k) for k in range(1, n + 1)]
        self.extras = {name: Backend(self, name, part) for name, part in (extras or {}).items()}

    def backend(self, k):
        return self.backends[k - 1]

    def build(self, defer):
        """Creates everything; defer(...) gets the undo steps."""
        if self.host.name:
            Netns.create(self.host.name, defer)
            # Like stock Debian: bridged traffic does not go through iptables.
            for fam in ("iptables", "ip6tables"):
                self.host.sysctl(f"net.bridge.bridge-nf-call-{fam}", 0, check=False)
        Netns.create(self.client.name, defer)
        self._client_link(defer)
        if self.has_bridge:
            make_bridge(defer, self.host, self.bridge, *self.bridge_cidrs)
            for b in self.backends + list(self.extras.values()):
                self._port(defer, b)
        return self

    def _client_link(self, defer):
        h, c = self.host, self.client
        veth(defer, self.uplink, h, "eth0", c, queues=self.queues)
        h.addr_add(self.uplink, f"{self.vip}/24")
        c.addr_add("eth0", f"{self.client_ip}/24")
        c.ip("route", "add", "default", "via", self.vip)
        if self.ipv6:
            # nodad: usable at once (DAD would hold them tentative for a second).
            h.addr_add(self.uplink, f"{self.vip6}/64", nodad=True)
            c.addr_add("eth0", f"{self.client_ip6}/64", nodad=True)
            c.ip("-6", "route", "add", "default", "via", self.vip6)
        # Look like wire traffic: full checksums from the client (CHECKSUM_PARTIAL on veth
        # makes the datapath's incremental checksum fix wrong on the redirect path).
        c.run("ethtool", "-K", "eth0", "tx", "off")
        c.sysctl("net.ipv4.tcp_timestamps", 2, check=False)
        if self.napi:
            h.run("ethtool", "-K", self.uplink, "gro", "on")

    def _port(self, defer, b):
        Netns.create(b.ns.name, defer)
        veth(defer, b.host_port, self.host, "eth0", b.ns, queues=self.queues)
        self.host.ip("link", "set", b.host_port, "master", self.bridge, "up")
        b.ns.addr_add("eth0", f"{b.ip}/24")
        b.ns.ip("route", "add", "default", "via", self.bridge_ip)
        if self.ipv6:
            b.ns.addr_add("eth0", f"{b.ip6}/64", nodad=True)
            b.ns.ip("-6", "route", "add", "default", "via", self.bridge_ip6)
        if self.napi:
            b.ns.run("ethtool", "-K", "eth0", "gro", "on")


def svc_at(addr, port=8000):
    """addr:port, [addr]:port for IPv6 (as URLs and xdplb write them)."""
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


def url(addr, path="/", port=8000):
    return f"http://{svc_at(addr, port)}{path}"
