"""Upgrade in place: a bridge attached by an xdplb of ABI version 7 (XDPLB_TEST_ABI_VERSION, the
test-only knob standing in for an older package) while keep-alive clients run; commands of the
current version refuse to read those pins; `attach` from the current version replaces programs
and maps in one step — zero failed requests, every keep-alive connection stays on its backend
(maglev), `status` afterwards is right, and an apply of the same config is no difference."""
import json
import os
import sys
import time

from lib import client, run, url
from lib.cmd import spawn

NET = 96
HERE = os.path.dirname(os.path.abspath(__file__))


def abi_version():
    """XDPLB_ABI_VERSION as the build under test has it (include/xdplb/abi.h)."""
    with open(os.path.join(HERE, "..", "..", "include", "xdplb", "abi.h")) as f:
        for line in f:
            if line.startswith("#define XDPLB_ABI_VERSION "):
                return int(line.split()[2])
    raise AssertionError("no XDPLB_ABI_VERSION in abi.h")


CURRENT = abi_version()


def test_attach_of_another_abi_version_replaces_in_place(e2e):
    t = e2e.web_topology(backends=3, net=NET, server="nginx")
    lb = e2e.xdplb(t.host)
    old_env = dict(lb.environ, XDPLB_TEST_ABI_VERSION="7")
    old = lambda *args, check=True: run([lb.bin, *args], ns=lb.ns, env=old_env, check=check)  # noqa: E731
    old("attach", t.bridge, "--uplink", t.uplink, "--proto", "tcp")
    for b in t.backends:
        old("backend", "add", b.ip)
    before = {b["address"]: b["id"] for b in json.loads(old("status", "--json").out)["backends"]}
    assert len(before) == 3

    # The current version does not misread version-7 pins.
    r = lb.fails("status", match=f"ABI version 7 and this xdplb speaks version {CURRENT}")
    print(r.err)
    lb.fails("backend", "add", "10.96.0.99", match="run `xdplb attach BRIDGE` with this xdplb")

    clients = spawn(["nsenter", f"--net={t.client.path}", sys.executable, os.path.join(HERE, "keepalive_client.py"),
                     t.vip, "8000", "12", "8"], e2e.path("keepalive.out"), defer=e2e.defer)
    clients.wait_output("started", 10)
    time.sleep(2)
    out = lb("attach", t.bridge, "--uplink", t.uplink, "--proto", "tcp").out
    print(out)
    assert "replaced the programs and maps" in out and "ABI version 7" in out, out
    clients.wait(timeout=40)
    result = json.loads(clients.output().strip().splitlines()[-1])
    print({k: v for k, v in result.items() if k != "backends"}, result["backends"])
    assert result["requests"] > 100, result
    assert result["failures"] == [], "zero failed requests across the upgrade"
    assert result["reconnects"] == 0
    assert all(len(seen) == 1 for seen in result["backends"]), "each connection kept its backend"

    status = lb.status()
    assert {b["address"]: b["id"] for b in status["backends"]} == before, "the same backends, ids"
    assert [s["name"] for s in status["services"]] == ["default"]
    served = client.served_by(client.spread(t.client, url(t.vip), 30, first_port=51001))
    assert set(served) == {"b1", "b2", "b3"}, dict(served)
    lb.fails("attach", t.bridge, "--uplink", t.uplink, match=f"the same ABI version {CURRENT}: nothing to replace")
    old("status", check=False)  # the old version now refuses (its own check), nothing more
    assert f"ABI version {CURRENT}" in old("status", check=False).err
