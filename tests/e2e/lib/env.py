"""The test's environment: a unique name prefix, a temp dir, the Defer stack, the binaries.

Prefix = base (XDPLB_E2E_PREFIX, default "xe", <= 2 chars) + the pid of the pytest process
(5 base-36 digits) + a counter digit: every namespace, link, pin root and temp dir of a test
carries it, so two runs (or two tests of one run) never collide. A run reaps what a killed
earlier run left: names of this pattern whose owning pid is gone.
"""
import itertools
import os
import re
import shutil

from .cmd import run
from .defer import Defer

_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"
_counter = itertools.count()


def _b36(n, width):
    s = ""
    for _ in range(width):
        n, r = divmod(n, 36)
        s = _B36[r] + s
    return s


def base_prefix():
    base = os.environ.get("XDPLB_E2E_PREFIX", "xe")
    if not re.fullmatch(r"[a-z]{1,2}", base):
        raise ValueError(f"XDPLB_E2E_PREFIX={base!r}: use 1 or 2 lower-case letters")
    return base


def new_prefix():
    """A fresh prefix (<= 8 chars: link names "{prefix}-b12h" stay within 15)."""
    return base_prefix() + _b36(os.getpid(), 5) + _B36[next(_counter) % 36]


def _owner_alive(pid36):
    pid = int(pid36, 36)
    return pid == os.getpid() or os.path.exists(f"/proc/{pid}")


def reap_stale():
    """Removes namespaces, root-namespace links, pin roots and temp dirs of this prefix
    pattern whose owner pid is dead (a run killed by SIGKILL could not clean up)."""
    pat = re.compile(rf"^{base_prefix()}([0-9a-z]{{5}})[0-9a-z](-|$)")
    for line in run(["ip", "netns", "list"]).out.splitlines():
        name = line.split()[0] if line.split() else ""
        m = pat.match(name)
        if m and not _owner_alive(m.group(1)):
            run(["ip", "netns", "del", name], check=False)
    for line in run(["ip", "-o", "link", "show"]).out.splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        m = pat.match(name)
        if m and not _owner_alive(m.group(1)):
            run(["ip", "link", "del", name], check=False)
    for parent, fmt in (("/sys/fs/bpf", "xdplb-e2e-"), ("/tmp", "xdplb-e2e-")):
        for entry in os.listdir(parent):
            if entry.startswith(fmt):
                m = pat.match(entry[len(fmt):])
                if m and not _owner_alive(m.group(1)):
                    shutil.rmtree(os.path.join(parent, entry), ignore_errors=True)


class Env:
    """What one test owns. Fixture `e2e` (conftest.py) makes one per test and cleans it up.

    prefix   unique name prefix          tmp   its temp dir (removed at the end)
    defer    its Defer stack             xdplb_bin, http_load_bin   the binaries under test
    lbs      every Xdplb made through it (their status is printed when the test fails)
    """

    def __init__(self, xdplb_bin, http_load_bin=None):
        self.prefix = new_prefix()
        self.xdplb_bin = xdplb_bin
        self.http_load_bin = http_load_bin
        self.defer = Defer()
        self.tmp = f"/tmp/xdplb-e2e-{self.prefix}"
        shutil.rmtree(self.tmp, ignore_errors=True)
        os.makedirs(self.tmp)
        self.defer(shutil.rmtree, self.tmp, True)
        self.lbs = []

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def cleanup(self):
        self.defer.run()

    # Conveniences that tie the library's objects to this test's Defer stack.
    def netns(self, suffix):
        from .net import Netns
        return Netns.create(f"{self.prefix}-{suffix}", self.defer)

    def topology(self, backends, net=81, **kw):
        """A built Topology (see topo.py for kw: ipv6, host_ns, bridge, extras, napi)."""
        from .topo import Topology
        return Topology(self.prefix, backends, net=net, **kw).build(self.defer)

    def xdplb(self, ns):
        from .xdplb import Xdplb
        lb = Xdplb(self, ns)
        self.lbs.append(lb)
        return lb

    def big_file(self, name="big.bin", size=10_000_000):
        """A file of size random bytes in tmp (downloads are compared with it)."""
        p = self.path(name)
        with open(p, "wb") as f:
            f.write(os.urandom(size))
        return p

