"""Boot: `xdplb boot -f FILE` (what xdplb.service runs) applies the config, tells systemd it is
ready and pings the watchdog (a notify socket of the test's own stands in for systemd), and
runs the daemon. A reboot by hand: stop it (the datapath keeps forwarding), remove the pins
(nothing serves), run it again — the services come back exactly, no command typed. The unit
file passes `systemd-analyze verify`."""
import os
import shutil
import socket
import subprocess
import time

from lib import client, run, url, wait_until

NET = 94
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def notify_socket(e2e):
    """A datagram socket like systemd's NOTIFY_SOCKET; returns (path, sock)."""
    path = e2e.path("notify.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(0.2)
    e2e.defer(s.close)
    return path, s


def messages(sock, until, timeout):
    """Notify messages received until one contains `until` (bounded by timeout s)."""
    got = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            got.append(sock.recv(4096).decode())
        except socket.timeout:
            continue
        if until in got[-1]:
            return got
    raise AssertionError(f"no {until!r} from xdplb boot within {timeout} s: {got}")


def boot(e2e, lb, cfg, sock_path, name):
    env = dict(lb.environ, NOTIFY_SOCKET=sock_path, WATCHDOG_USEC="400000")
    env.pop("WATCHDOG_PID", None)
    from lib.cmd import spawn
    return spawn([lb.bin, "boot", "-f", cfg, "--wait-links", "10", "--log-file", e2e.path(f"{name}.log")],
                 e2e.path(f"{name}.out"), ns=lb.ns, defer=e2e.defer, env=env)


def test_boot_after_a_reboot_brings_the_services_back(e2e):
    t = e2e.web_topology(backends=2, net=NET)
    lb = e2e.xdplb(t.host)
    cfg = e2e.path("xdplb.yaml")
    with open(cfg, "w") as f:
        f.write(f"""bridges:
  - name: {t.bridge}
    uplinks: [{t.uplink}]
    services:
      - name: web
        port: 8000
        proto: tcp
        backends:
          - address: {t.backend(1).ip}
            weight: 2
          - address: {t.backend(2).ip}
      - name: alt
        port: 9000
        proto: tcp
        health:
          type: none
        backends:
          - address: {t.backend(2).ip}
""")
    path, sock = notify_socket(e2e)

    first = boot(e2e, lb, cfg, path, "boot1")
    got = messages(sock, "READY=1", 60)
    messages(sock, "WATCHDOG=1", 5)
    print(got)
    assert client.http(t.client, url(t.vip, port=9000)) == "Served from b2"
    assert set(client.served_by(client.spread(t.client, url(t.vip), 20, first_port=48001))) == {"b1", "b2"}
    services = lb.json("service", "list")
    backends = {b["address"]: (b["id"], b["weight"]) for b in lb.status()["backends"]}

    # Stopping the unit leaves the datapath forwarding.
    assert first.stop() == 0, open(e2e.path("boot1.out")).read()
    assert client.http(t.client, url(t.vip, port=9000)) == "Served from b2", "forwarding without the daemon"

    # A reboot: the pins vanish, nothing serves.
    shutil.rmtree(lb.pin_root)
    wait_until(lambda: client.http(t.client, url(t.vip, port=9000), timeout=1), 10, "nothing serves",
               ok=lambda r: r is None)

    second = boot(e2e, lb, cfg, path, "boot2")
    messages(sock, "READY=1", 60)
    assert lb.json("service", "list") == services, "the same services"
    assert {b["address"]: (b["id"], b["weight"]) for b in lb.status()["backends"]} == backends, "the same backends"
    assert client.http(t.client, url(t.vip, port=9000)) == "Served from b2"
    assert set(client.served_by(client.spread(t.client, url(t.vip), 20, first_port=49001))) == {"b1", "b2"}
    assert second.stop() == 0
    log = open(e2e.path("boot2.log")).read()
    assert "ready" in log, log


def test_unit_file_verifies():
    unit = os.path.join(REPO, "packaging", "xdplb.service")
    r = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True, timeout=60)
    # The binary is not installed here: only that complaint is allowed.
    problems = [l for l in (r.stdout + r.stderr).splitlines()
                if l.strip() and "/usr/sbin/xdplb" not in l and "man xdplb(8)" not in l]
    assert problems == [], "\n".join(problems)
