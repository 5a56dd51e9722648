#!/usr/bin/python3
"""The test topology (lib/topo.py) for shell scripts: the benchmarks and the demo build the
same namespaces with the same names and addresses as the tests, from this one implementation.

  topology.py names --prefix P --net N [options]   print the names/addresses as shell
                                                  assignments (for eval), create nothing
  topology.py up    --prefix P --net N [options]   create it (undone again if a step fails),
                                                  then print the names like `names`
  topology.py down  --prefix P --net N [options]   remove what `up` with the same options made
options: --backends K  --ipv6  --root-host (uplink in the root namespace: HOST_NS is "")
         --no-bridge (no bridge, no backends)  --extra NAME:HOSTPART (another namespace on the
         bridge, e.g. px:100)  --napi (GRO on the uplink and the container-side veths)
         --queues N (RX and TX queues on both ends of the uplink and port veths)
Printed: HOST_NS CLI_NS UPLINK BRIDGE VIP CLIENT_IP BRIDGE_IP [VIP6 CLIENT_IP6 BRIDGE_IP6],
BACKEND_NS=(...) BACKEND_IP=(...) (backend K at index K-1), and NAME_NS / NAME_IP per extra.
"""
import argparse
import shlex
import sys

from lib.cmd import run
from lib.defer import Defer
from lib.topo import Topology


def plan(a):
    extras = {}
    for e in a.extra:
        name, _, part = e.partition(":")
        extras[name] = int(part)
    return Topology(a.prefix, a.backends, net=a.net, ipv6=a.ipv6, host_ns=not a.root_host,
                    bridge=not a.no_bridge, extras=extras, napi=a.napi, queues=a.queues)


def names(t):
    v = {"HOST_NS": t.host.name or "", "CLI_NS": t.client.name, "UPLINK": t.uplink,
         "BRIDGE": t.bridge, "VIP": t.vip, "CLIENT_IP": t.client_ip, "BRIDGE_IP": t.bridge_ip}
    if t.ipv6:
        v.update(VIP6=t.vip6, CLIENT_IP6=t.client_ip6, BRIDGE_IP6=t.bridge_ip6)
    for name, b in t.extras.items():
        v[f"{name.upper()}_NS"], v[f"{name.upper()}_IP"] = b.ns.name, b.ip
    lines = [f"{k}={shlex.quote(val)}" for k, val in v.items()]
    lines.append("BACKEND_NS=(" + " ".join(b.ns.name for b in t.backends) + ")")
    lines.append("BACKEND_IP=(" + " ".join(b.ip for b in t.backends) + ")")
    return "\n".join(lines)


def down(t):
    """Removes the namespaces (their links go with them) and the root namespace's links."""
    have = {line.split()[0] for line in run(["ip", "netns", "list"]).out.splitlines() if line.strip()}
    for ns in [t.host, t.client] + t.backends + [b.ns for b in t.extras.values()]:
        ns = getattr(ns, "ns", ns)
        if ns.name and ns.name in have:
            run(["ip", "netns", "del", ns.name])
    if not t.host.name:
        for link in [t.uplink] + ([t.bridge] if t.has_bridge else []):
            run(["ip", "link", "del", link], check=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["names", "up", "down"])
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--net", type=int, required=True)
    ap.add_argument("--backends", type=int, default=0)
    ap.add_argument("--ipv6", action="store_true")
    ap.add_argument("--root-host", action="store_true")
    ap.add_argument("--no-bridge", action="store_true")
    ap.add_argument("--extra", action="append", default=[])
    ap.add_argument("--napi", action="store_true")
    ap.add_argument("--queues", type=int, default=1, choices=range(1, 9))
    a = ap.parse_args()
    t = plan(a)
    if a.command == "up":
        undo = Defer()
        try:
            t.build(undo)
        except BaseException as e:
            print(f"topology.py: {e}", file=sys.stderr)
            undo.run()
            return 1
    if a.command == "down":
        down(t)
    else:
        print(names(t))
    return 0


if __name__ == "__main__":
    sys.exit(main())
