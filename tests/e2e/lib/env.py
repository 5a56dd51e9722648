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
import signal

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
    """Whether the run of this prefix still runs (a zombie does not: a killed run's process
    may wait a while for its parent to reap it)."""
    pid = int(pid36, 36)
    if pid == os.getpid():
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _kill(pid):
    try:
        os.kill(int(pid), signal.SIGKILL)
    except (ProcessLookupError, ValueError):
        pass


def _stale(name, pat):
    m = pat.match(name)
    return m is not None and not _owner_alive(m.group(1))


def reap_stale():
    """Removes what runs killed by SIGKILL (which cannot clean up) left, by this prefix pattern
    with a dead owner pid: the processes in their namespaces and their xdplb daemons (found by
    their pin root), the namespaces, root-namespace links, what their container bring-up
    recorded (LXD/LXC objects, an LXD daemon they started), pin roots and temp dirs."""
    pat = re.compile(rf"^{base_prefix()}([0-9a-z]{{5}})[0-9a-z](-|$)")
    for line in run(["ip", "netns", "list"]).out.splitlines():
        name = line.split()[0] if line.split() else ""
        if _stale(name, pat):
            for pid in run(["ip", "netns", "pids", name], check=False).out.split():
                _kill(pid)
            run(["ip", "netns", "del", name], check=False)
    marker = re.compile(rb"XDPLB_PIN_ROOT=/sys/fs/bpf/xdplb-e2e-([0-9a-z]+)\0")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                m = marker.search(f.read() + b"\0")
        except OSError:
            continue
        if m and _stale(m.group(1).decode(), pat):
            _kill(pid)
    for line in run(["ip", "-o", "link", "show"]).out.splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        if _stale(name, pat):
            run(["ip", "link", "del", name], check=False)
    for entry in os.listdir("/tmp"):
        if entry.startswith("xdplb-e2e-") and _stale(entry[len("xdplb-e2e-"):], pat):
            from .containers import undo_recorded
            undo_recorded(os.path.join("/tmp", entry))
            shutil.rmtree(os.path.join("/tmp", entry), ignore_errors=True)
    for entry in os.listdir("/sys/fs/bpf"):
        if entry.startswith("xdplb-e2e-") and _stale(entry[len("xdplb-e2e-"):], pat):
            shutil.rmtree(os.path.join("/sys/fs/bpf", entry), ignore_errors=True)


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

    def web_topology(self, backends, net, server="httpd", **kw):
        """A built Topology whose backends serve HTTP on :80 (servers.httpd, or "nginx"),
        each answering from the host before this returns."""
        from . import client, servers
        t = self.topology(backends, net=net, **kw)
        start = getattr(servers, server)
        for b in t.backends:
            start(self, b.ns, b.name)
        for b in t.backends:
            client.wait_http(t.host, f"http://{b.ip}/")
        return t

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

