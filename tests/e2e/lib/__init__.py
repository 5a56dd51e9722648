"""A small library for xdplb's end-to-end tests (pytest; see tests/e2e/README.md).

Fixture `e2e` (conftest.py) gives each test an Env; everything made through it is removed by
its Defer stack at the end, also on failure or Ctrl-C (SIGTERM is turned into Ctrl-C):

    def test_x(e2e):
        t = e2e.topology(backends=2, net=81)       # Topology: namespaces, veths, a bridge
        big = e2e.big_file()                       # 10 MB of random bytes
        for b in t.backends:
            servers.httpd(e2e, b.ns, b.name, big=big)   # "Served from b1", cgi-bin/peer, slow
            servers.udp_reply(e2e, b.ns, b.name)        # answers "b1"
            client.wait_http(t.host, f"http://{b.ip}/")
        lb = e2e.xdplb(t.host)                     # the CLI in the host namespace
        lb("attach", t.bridge, "--uplink", t.uplink)
        lb.fails("backend", "add", "10.0.0.300", match="10.0.0.300")
        assert client.spread(t.client, url(t.vip), 20)["Served from b1"] > 0
        wait_until(lambda: lb.backend(b.ip)["health"], 5, "b1 up", ok=lambda h: h == "up")

Modules (each small, one job):
  cmd      run(args, ns) -> Result (raises CmdError with command + output), run_fails,
           spawn(args, log, ns, defer) -> Proc (stop, kill9, wait, output,
           mark, wait_output(regex, timeout, since))
  defer    Defer: cleanup steps, last in first out, each runs even if one before failed
  wait     wait_until(observe, timeout, what, ok=bool) -> value; WaitTimeout says what was
           awaited and what was seen last
  env      Env: unique prefix, tmp dir, defer, binaries; netns(), topology(), xdplb(),
           big_file(); reap_stale() removes what killed runs left
  net      Netns (run, fails, spawn, ip, sysctl, addr_add), ROOT, veth(), bridge()
  topo     Topology (client, host, uplink, bridge, backends, vip, bridge_ip, ...;
           ipv6=True adds fd42:N:: addresses; host_ns, bridge, extras, napi),
           Backend (ns, ip, ip6, link_down/up), svc_at, url
  servers  httpd, udp_reply, nginx, nginx_conf, www_dir
  client   http, pages, spread, served_by, udp, probe, download, wait_http, wait_udp
  load     HttpLoad (records every request: failed, served_by_after, rate, slowest_after,
           the client port), TcpLog (SYNs a backend got and RSTs it sent, by client port),
           log_ms_after(daemon log, epoch ms, regex), now_ms
  containers  Lxd, Lxc: one driver interface (start, stop, restart, netns, add_args) over the
           demo's shell bring-up in scripts/lib; page(name) is what a container serves
  xdplb    Xdplb: lb(*args) / lb.fails(*args, match=) / lb.json / lb.status() /
           lb.backend(addr) / lb.state(bridge) / lb.daemon(log)
Shell scripts (bench, demo) build the same topology through tests/e2e/topology.py.
"""
from . import client, servers
from .load import HttpLoad, TcpLog, log_ms_after, now_ms
from .cmd import CmdError, Proc, Result, run, run_fails, spawn
from .defer import Defer
from .env import Env
from .net import ROOT, Netns, bridge, veth
from .topo import Topology, svc_at, url
from .wait import WaitTimeout, wait_until

__all__ = ["client", "servers", "HttpLoad", "TcpLog", "log_ms_after", "now_ms", "CmdError", "Proc",
           "Result", "run", "run_fails", "spawn", "Defer", "Env", "ROOT", "Netns", "bridge",
           "veth", "Topology", "svc_at", "url", "WaitTimeout", "wait_until"]
