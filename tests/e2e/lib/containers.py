"""LXD and classic LXC containers for the container tests, brought up by the same shell code
the demo uses (scripts/lib/lxd.sh, image.sh, lxc.sh: one implementation, called with its
arguments as argv, never pasted into code). What a driver creates is recorded in a state file
of the test; cleanup undoes exactly that (and stops an LXD daemon only if it started it).

A driver knows one container manager; the scenario (test_containers.py) runs on either:
    d = Lxd(e2e, t, ["c1", "c2", "c3"])   # or Lxc(...): created, c1 c2 started, c3 stopped
    d.names, d.add_args, d.ipv6 (IPv6 entries expected), d.start(n), d.stop(n), d.restart(n), d.netns(n), d.push(...)
Container names are the test prefix + "-w1" ...; every container serves
"Served from the <name> container!" on port 80 (busybox httpd from the image/template).
"""
import json
import os
import re

from .cmd import run
from .env import base_prefix
from .net import Netns
from .wait import wait_until

SCRIPTS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))), "scripts", "lib")


def shlib(script, fn, *args, env=None, timeout=300):
    """Calls shell function fn of scripts/lib/SCRIPT with args (raises on failure)."""
    return run(["bash", "-c", 'set -euo pipefail; source "$0"; "$@"',
                os.path.join(SCRIPTS, script), fn, *args], env=env, timeout=timeout)


def page(name):
    return f"Served from the {name} container!"


class Lxd:
    kind = "lxd"
    ipv6_capable = True  # LXD's dnsmasq sends router advertisements: SLAAC addresses

    def __init__(self, e2e, t, names):
        self.e2e, self.t = e2e, t
        self.ipv6 = bool(t.ipv6)
        self.names = names
        self.add_args = ["--source", "lxd"]
        self.environ = dict(os.environ, LXD_STATE_FILE=e2e.path("lxd-created"))
        e2e.defer(self._sh, "lxd_cleanup")
        self._sh("lxd_ensure_running", timeout=90)
        self._reap_stale()
        p = t.prefix
        cidr6 = t.bridge_cidrs[1] if self.ipv6 else "none"
        self._sh("lxd_ensure_network", t.bridge, t.bridge_cidrs[0], cidr6, f"{p}-prof", f"{p}-pool")
        image = e2e.path("web.tar.gz")
        self._sh("xdplb_lxd_image_build", image, script="image.sh")
        self._sh("xdplb_lxd_image_import", image, f"{p}-web", script="image.sh")
        for n in names:
            self._sh("lxd_launch", f"{p}-web", n, f"{p}-prof")
        for n in names:
            self.wait_up(n)

    def _sh(self, fn, *args, script="lxd.sh", timeout=300):
        return shlib(script, fn, *args, env=self.environ, timeout=timeout)

    def _reap_stale(self):
        """Instances, images, profiles, networks, pools of killed runs (dead owner pid)."""
        pat = re.compile(rf"^{base_prefix()}([0-9a-z]{{5}})[0-9a-z](-|$)")
        from .env import _owner_alive
        kinds = (("instance", ["lxc", "list", "--format", "json"], "name"),
                 ("image", ["lxc", "image", "list", "--format", "json"], None),
                 ("profile", ["lxc", "profile", "list", "--format", "json"], "name"),
                 ("network", ["lxc", "network", "list", "--format", "json"], "name"),
                 ("pool", ["lxc", "storage", "list", "--format", "json"], "name"))
        for kind, cmd, key in kinds:
            for obj in json.loads(run(cmd).out or "[]"):
                names = [obj[key]] if key else [a["name"] for a in obj.get("aliases") or []]
                for name in names:
                    m = pat.match(name)
                    if m and not _owner_alive(m.group(1)):
                        self._sh("lxd_remove", kind, name)

    def wait_up(self, name):
        self._sh("lxd_wait_ipv4", name, "30")
        if self.ipv6:
            self._sh("lxd_wait_ipv6", name, "30")

    def start(self, name, wait=True):
        run(["lxc", "start", name])
        if wait:
            self.wait_up(name)

    def stop(self, name, force=False):
        run(["lxc", "stop", name, *(["--force"] if force else [])], timeout=90)

    def restart(self, name):
        run(["lxc", "restart", name], timeout=90)
        self.wait_up(name)

    def push(self, name, local, remote):
        run(["lxc", "file", "push", "-q", local, f"{name}{remote}"])

    def netns(self, name):
        """The running container's network namespace (through its init's pid)."""
        pid = run(["lxc", "list", name, "-c", "p", "--format", "csv"]).out.strip()
        return Netns.of_pid(int(pid))


class Lxc:
    kind = "lxc"
    ipv6_capable = False  # the helper bridge sends no router advertisements
    ipv6 = False

    def __init__(self, e2e, t, names):
        self.e2e, self.t = e2e, t
        self.names = names
        self.lxcpath = e2e.path("lxc")
        self.add_args = ["--source", "lxc", "--lxcpath", self.lxcpath]
        self.environ = dict(os.environ, LXC_STATE_FILE=e2e.path("lxc-created"))
        e2e.defer(self._sh, "lxc_cleanup")
        self._sh("lxc_ensure_bridge", t.bridge, t.bridge_cidrs[0])
        self._sh("lxc_ensure_lxcpath", self.lxcpath)
        for k, n in enumerate(names, 1):
            self._sh("lxc_create_web", n, self.lxcpath, t.bridge, f"10.{t.net}.0.{10 + k}/24")
        for n in names:
            self.start(n)

    def _sh(self, fn, *args):
        return shlib("lxc.sh", fn, *args, env=self.environ)

    def start(self, name):
        self._sh("lxc_start_web", name, self.lxcpath)
        # Running is not serving yet: bounded wait for its web server.
        ip = f"10.{self.t.net}.0.{10 + self.names.index(name) + 1}"
        from .client import http
        wait_until(lambda: http(None, f"http://{ip}/", timeout=1), 10, f"{name}'s web server")

    def stop(self, name, force=False):
        if force:
            run(["lxc-stop", "-P", self.lxcpath, "-n", name, "-k"])
        else:
            self._sh("lxc_stop_web", name, self.lxcpath)

    def restart(self, name):
        self.stop(name)
        self.start(name)

    def netns(self, name):
        pid = run(["lxc-info", "-P", self.lxcpath, "-n", name, "-p", "-H"]).out.strip()
        return Netns.of_pid(int(pid))


DRIVERS = {"lxd": Lxd, "lxc": Lxc}
