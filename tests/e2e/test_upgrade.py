"""Upgrade in place with a real older build: an xdplb built from OLD_COMMIT (ABI version 1, the
layout before backend_stats.refused, the flow's backend port and the trace maps) attaches a
bridge while keep-alive clients run; commands of this build refuse to read those pins; `attach`
from this build replaces programs and maps in one step — zero failed requests, every keep-alive
connection stays on its backend (maglev), the same backends, only maps of this build pinned,
the old ones gone. And an apply whose second bridge fails puts the first one's replaced
datapath back: old programs, old pins, the old version, the state file unchanged.

The old build is made once (lib/old_build.py: git archive + cmake, ccache) and kept under the
build dir, keyed by the commit."""
import json
import os
import subprocess
import sys
import time

import pytest

from lib import client, run, url
from lib.cmd import spawn
from lib.old_build import abi_version_of, old_xdplb

NET = 118
NET_APPLY = 119
# Source ports of the checks after the keep-alive clients: above the ephemeral range
# (32768-60999), which those clients' thousands of connections leave in TIME_WAIT on the backend.
PORTS = 62001
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
# The last commit of ABI version 1 (the merge that made version 2 is its child).
OLD_COMMIT = "f914860c418ff486946596fd6c02e72dd9673012"
# Maps of the old build that this build no longer has (their pins must be gone after the
# upgrade, like every old map): trace_seen became trace_reasons in ABI version 4.
RETIRED_MAPS = {"trace_seen"}

with open(os.path.join(REPO, "include", "xdplb", "abi.h")) as f:
    CURRENT = abi_version_of(f.read())


@pytest.fixture(scope="module")
def old_bin():
    root = os.path.join(os.environ.get("XDPLB_BUILD_DIR") or os.path.join(REPO, "build"), "upgrade-old")
    t0 = time.monotonic()
    path, version = old_xdplb(OLD_COMMIT, root)
    print(f"old xdplb {OLD_COMMIT[:12]} (ABI version {version}) ready in {time.monotonic() - t0:.0f} s: {path}")
    assert version != CURRENT, f"{OLD_COMMIT[:12]} is of this build's ABI version {CURRENT}: pick an older commit"
    return path, version


def old_cli(lb, binary):
    """The old build, with lb's pin root and state dir."""
    return lambda *args, check=True: run([binary, *args], ns=lb.ns, env=lb.environ, check=check)  # noqa: E731


def flow_value_layout(bridge_dir):
    """The C declaration of the flow table's value, from the pinned map's BTF."""
    r = subprocess.run(["bpftool", "btf", "dump", "map", "pinned", os.path.join(bridge_dir, "flows"), "value",
                        "format", "c"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout[r.stdout.index("struct xdplb_flow {"):].split("};")[0]


def pinned_maps(bridge_dir):
    """{pin name: map id} of the maps pinned in bridge_dir (bpftool reads, pins nothing)."""
    out = {}
    for name in sorted(os.listdir(bridge_dir)):
        if name.startswith("link_"):
            continue
        r = subprocess.run(["bpftool", "-j", "map", "show", "pinned", os.path.join(bridge_dir, name)],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        out[name] = json.loads(r.stdout)["id"]
    return out


def test_attach_of_an_older_build_replaces_in_place(e2e, old_bin):
    binary, version = old_bin
    t = e2e.web_topology(backends=3, net=NET, server="nginx")
    lb = e2e.xdplb(t.host)
    old = old_cli(lb, binary)
    old("attach", t.bridge, "--uplink", t.uplink, "--proto", "tcp")
    for b in t.backends:
        old("backend", "add", b.ip)
    before = {b["address"]: b["id"] for b in json.loads(old("status", "--json").out)["backends"]}
    assert len(before) == 3
    bridge_dir = os.path.join(lb.pin_root, t.bridge)
    old_maps, old_flow = pinned_maps(bridge_dir), flow_value_layout(bridge_dir)

    # This build does not misread the old pins.
    lb.fails("status", match=f"ABI version {version} and this xdplb speaks version {CURRENT}")
    lb.fails("backend", "add", "10.118.0.99", match="run `xdplb attach BRIDGE` with this xdplb")

    clients = spawn(["nsenter", f"--net={t.client.path}", sys.executable, os.path.join(HERE, "keepalive_client.py"),
                     t.vip, "8000", "12", "8"], e2e.path("keepalive.out"), defer=e2e.defer)
    clients.wait_output("started", 10)
    time.sleep(2)
    t0 = time.monotonic()
    out = lb("attach", t.bridge, "--uplink", t.uplink, "--proto", "tcp").out
    took = time.monotonic() - t0
    print(out, f"attach (the upgrade) took {took:.2f} s")
    assert "replaced the programs and maps" in out and f"ABI version {version}" in out, out
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
    served = client.served_by(client.spread(t.client, url(t.vip), 30, first_port=PORTS))
    assert set(served) == {"b1", "b2", "b3"}, dict(served)
    # Only this build's maps: none of the old ones is pinned any more, the layouts really differ
    # (a flow's padding became its backend port), nothing is left beside the bridge's pins.
    new_maps, new_flow = pinned_maps(bridge_dir), flow_value_layout(bridge_dir)
    added = sorted(set(new_maps) - set(old_maps))
    print("maps this build added:", added)
    retired = sorted(set(old_maps) - set(new_maps))
    print("maps this build retired:", retired)
    assert set(retired) <= RETIRED_MAPS, f"old maps no longer pinned that this build did not retire: {retired}"
    assert set(old_maps) - RETIRED_MAPS <= set(new_maps), "every old map's name pinned again, by this build's map"
    assert not set(new_maps.values()) & set(old_maps.values()), "an old map is still pinned"
    print("flow value before:", old_flow, "after:", new_flow)
    assert "bport" in new_flow and "bport" not in old_flow, (old_flow, new_flow)
    assert lb.attached() == [t.bridge], f"left beside the bridge's pins: {lb.attached()}"
    lb.fails("attach", t.bridge, "--uplink", t.uplink, match=f"the same ABI version {CURRENT}: nothing to replace")
    assert f"ABI version {CURRENT}" in old("status", check=False).err, "the old build refuses the new pins"


def test_apply_whose_second_bridge_fails_puts_the_replaced_datapath_back(e2e, old_bin):
    binary, version = old_bin
    t = e2e.web_topology(backends=2, net=NET_APPLY)
    lb = e2e.xdplb(t.host)
    old = old_cli(lb, binary)
    old("attach", t.bridge, "--uplink", t.uplink, "--proto", "tcp")
    for b in t.backends:
        old("backend", "add", b.ip)
    state_file = os.path.join(lb.state_dir, f"{t.bridge}.json")
    with open(state_file, "rb") as f:
        state_before = f.read()
    bridge_dir = os.path.join(lb.pin_root, t.bridge)
    maps_before = pinned_maps(bridge_dir)
    cfg = e2e.path("two.yaml")
    with open(cfg, "w") as f:
        f.write(f"""bridges:
  - name: {t.bridge}
    uplinks: [{t.uplink}]
    services:
      - name: default
        port: 8000
        proto: tcp
        backends:
          - address: {t.backend(1).ip}
          - address: {t.backend(2).ip}
  - name: upnobr0
    uplinks: [upnoup0]
    services:
      - name: web
        port: 8000
        proto: tcp
        backends:
          - address: 10.{NET_APPLY}.0.50
""")
    clients = spawn(["nsenter", f"--net={t.client.path}", sys.executable, os.path.join(HERE, "keepalive_client.py"),
                     t.vip, "8000", "4", "6"], e2e.path("keepalive.out"), defer=e2e.defer)
    clients.wait_output("started", 10)
    time.sleep(1)
    r = lb.fails("apply", "-f", cfg, match=f"bridges {t.bridge} are back as they were")
    print(r.out, r.err)
    assert "replaced the programs and maps" in r.out, "the first bridge was replaced before the second failed"
    clients.wait(timeout=30)
    result = json.loads(clients.output().strip().splitlines()[-1])
    print({k: v for k, v in result.items() if k != "backends"})
    assert result["failures"] == [] and result["requests"] > 50, result

    # The old datapath runs again: its very maps, under their names, its version.
    assert pinned_maps(bridge_dir) == maps_before, "the old maps are back under their names"
    lb.fails("status", match=f"ABI version {version} and this xdplb speaks version {CURRENT}")
    st = json.loads(old("status", "--json").out)
    assert sorted(b["address"] for b in st["backends"]) == sorted(b.ip for b in t.backends)
    with open(state_file, "rb") as f:
        assert f.read() == state_before, "the state file as before the apply"
    assert lb.attached() == [t.bridge], f"left beside the bridge's pins: {lb.attached()}"
    assert set(client.served_by(client.spread(t.client, url(t.vip), 20, first_port=PORTS))) == {"b1", "b2"}
