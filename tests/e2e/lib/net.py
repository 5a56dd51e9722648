"""Network namespaces, veth pairs and bridges, each removed by the test's Defer stack."""
from .cmd import run, run_fails, spawn


class Netns:
    """A network namespace by name (/run/netns/NAME); Netns(None) (ROOT) is the root
    namespace; Netns.of_pid(pid) is a process's (e.g. a container's init)."""

    def __init__(self, name, path=None):
        self.name = name
        self.path = path or (f"/run/netns/{name}" if name else None)

    @classmethod
    def of_pid(cls, pid):
        return cls(None, f"/proc/{pid}/ns/net")

    @classmethod
    def create(cls, name, defer):
        run(["ip", "netns", "add", name])
        defer(run, ["ip", "netns", "del", name], check=False)
        ns = cls(name)
        ns.ip("link", "set", "lo", "up")
        return ns

    def __repr__(self):
        return f"Netns({self.name or self.path or 'root'})"

    def run(self, *args, **kw):
        """run(args) inside this namespace (see cmd.run)."""
        return run(list(args), ns=self, **kw)

    def fails(self, *args, match=None, **kw):
        return run_fails(list(args), match=match, ns=self, **kw)

    def spawn(self, args, log, defer, env=None):
        return spawn(args, log, ns=self, defer=defer, env=env)

    def ip(self, *args, check=True):
        n = ["-n", self.name] if self.name else []
        return run(["ip", *n, *args], check=check)

    def sysctl(self, key, value=None, check=True):
        """Reads (value None) or sets a sysctl in this namespace; returns its value."""
        if value is None:
            return self.run("sysctl", "-n", key).out.strip()
        self.run("sysctl", "-qw", f"{key}={value}", check=check)
        return str(value)

    def addr_add(self, dev, cidr, nodad=False):
        self.ip("addr", "add", cidr, "dev", dev, *(["nodad"] if nodad else []))


ROOT = Netns(None)


def veth(defer, a, a_ns, b, b_ns, queues=1):
    """A veth pair a@a_ns <-> b@b_ns (both up), each end with `queues` RX and TX queues. A link
    in the root namespace is deleted by defer; links inside test namespaces go with them."""
    def where(ns):
        return ["netns", ns.name] if ns.name else []
    q = ["numrxqueues", str(queues), "numtxqueues", str(queues)] if queues > 1 else []
    run(["ip", "link", "add", a, *where(a_ns), *q, "type", "veth", "peer", "name", b, *where(b_ns), *q])
    for name, ns in ((a, a_ns), (b, b_ns)):
        if ns.name is None:
            defer(run, ["ip", "link", "del", name], check=False)
    a_ns.ip("link", "set", a, "up")
    b_ns.ip("link", "set", b, "up")


def bridge(defer, ns, name, *cidrs, nodad=True):
    """A bridge in ns with the given addresses, up."""
    ns.ip("link", "add", name, "type", "bridge")
    if ns.name is None:
        defer(run, ["ip", "link", "del", name], check=False)
    for c in cidrs:
        ns.addr_add(name, c, nodad=nodad and ":" in c)
    ns.ip("link", "set", name, "up")
