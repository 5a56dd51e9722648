"""`xdplb import lxd` against a live LXD: a managed network with a network forward (a listen
address, two port entries to target addresses on the bridge) and a container with a proxy
device; the printed config names those ports and targets, and `apply --dry-run` accepts it."""
import pytest

from lib import run
from lib.containers import Lxd

pytestmark = pytest.mark.containers
NET = 161


def lxc(*args, check=True):
    return run(["lxc", *args], timeout=60, check=check)


def test_import_lxd_forward_and_proxy(e2e):
    t = e2e.topology(backends=0, net=NET, host_ns=False, bridge=False)
    c1 = f"{t.prefix}-w1"
    Lxd(e2e, t, [c1])
    listen = f"10.{NET}.7.1"  # no host has it: LXD answers for it through its own DNAT
    targets = [f"10.{NET}.0.21", f"10.{NET}.0.22"]  # on the bridge (10.NET.0.0/24)
    lxc("network", "forward", "create", t.bridge, listen)
    e2e.defer(lxc, "network", "forward", "delete", t.bridge, listen, check=False)
    lxc("network", "forward", "port", "add", t.bridge, listen, "tcp", "8080", targets[0], "80")
    lxc("network", "forward", "port", "add", t.bridge, listen, "udp", "5353", targets[1], "53")
    lxc("config", "device", "add", c1, f"{t.prefix}-px", "proxy",
        "listen=tcp:127.0.0.1:18081", "connect=tcp:127.0.0.1:80")

    lb = e2e.xdplb(t.host)
    out = lb("import", "lxd", "--bridge", t.bridge).out
    print(out)
    for word in (f"name: {t.bridge}", "port: 8080", "port: 5353", "proto: udp", listen, *targets,
                 f"container: {c1}", "port: 18081"):
        assert word in out, f"the imported config names {word!r}"
    path = e2e.path("imported.yaml")
    with open(path, "w") as f:
        f.write(out)
    dry = lb("apply", "-f", path, "--dry-run").out
    print(dry)
    assert "dry run: nothing changed" in dry
    for word in (f"+ attach {t.bridge}", "8080", "5353", "18081", *targets, c1):
        assert word in dry, f"the dry run shows {word!r}"
