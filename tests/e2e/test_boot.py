"""Boot: `xdplb boot -f FILE` (what xdplb.service runs) applies the config, tells systemd it is
ready and pings the watchdog (a notify socket of the test's own stands in for systemd), and
runs the daemon; the pings stop while a daemon loop is stuck. A reboot by hand: stop it (the datapath keeps forwarding), remove the pins
(nothing serves), run it again — the services come back exactly, no command typed. The unit
file passes `systemd-analyze verify`."""
import fcntl
import os
import shutil
import socket
import subprocess
import threading
import time

from lib import client, run, url, wait_until

NET = 94
NET_WATCHDOG = 117
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


def boot(e2e, lb, cfg, sock_path, name, out=None, watchdog_usec=400000, verbose=False):
    env = dict(lb.environ, NOTIFY_SOCKET=sock_path, WATCHDOG_USEC=str(watchdog_usec))
    env.pop("WATCHDOG_PID", None)
    from lib.cmd import spawn
    return spawn([lb.bin, *(["-v"] if verbose else []), "boot", "-f", cfg, "--wait-links", "10",
                  "--log-file", e2e.path(f"{name}.log")],
                 out or e2e.path(f"{name}.out"), ns=lb.ns, defer=e2e.defer, env=env)


def pings(sock, seconds):
    """How many WATCHDOG=1 arrive within `seconds`."""
    n = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            n += sock.recv(4096).decode().count("WATCHDOG=1")
        except socket.timeout:
            pass
    return n


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


def test_watchdog_pings_stop_while_a_daemon_loop_is_stuck(e2e):
    """The pings prove that the daemon loops go round, not only that their threads exist. A real
    stall: the daemon's loop logs every probe (-v, probes every 100 ms), its stderr is a pipe of
    one page that the test stops reading (a log reader that hangs), the loop blocks in the write
    and stops stamping its heartbeat, and WATCHDOG=1 stops. Read again, the loop goes on and the
    pings come back."""
    t = e2e.web_topology(backends=2, net=NET_WATCHDOG)
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
        health:
          type: tcp
          interval_ms: 100
        backends:
          - address: {t.backend(1).ip}
          - address: {t.backend(2).ip}
""")
    path, sock = notify_socket(e2e)
    fifo = e2e.path("boot.stderr")
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    e2e.defer(os.close, reader)
    fcntl.fcntl(reader, fcntl.F_SETPIPE_SZ, 4096)  # one page: a few seconds of probe logs
    reading = threading.Event()
    reading.set()
    done = threading.Event()
    log = []

    def drain():
        while not done.is_set():
            if not reading.wait(0.1):
                continue
            try:
                chunk = os.read(reader, 65536)
                if chunk:
                    log.append(chunk)
                    continue
            except BlockingIOError:
                pass
            time.sleep(0.02)

    drainer = threading.Thread(target=drain, daemon=True)
    drainer.start()

    def stop_draining():
        reading.set()
        done.set()
        drainer.join(5)
    e2e.defer(stop_draining)
    proc = boot(e2e, lb, cfg, path, "wd", out=fifo, watchdog_usec=1000000, verbose=True)
    e2e.defer(reading.set)  # the process can only stop once its writes return
    messages(sock, "READY=1", 60)
    assert pings(sock, 3) >= 4, "pings every half interval (500 ms) while the loops go round"

    reading.clear()  # the log reader hangs: within a few seconds the loop blocks in its write
    time.sleep(5)
    pings(sock, 0.3)  # what was sent before the stall and still waits in the socket
    stuck = pings(sock, 4)
    assert proc.running()
    reading.set()
    resumed = pings(sock, 3)
    text = b"".join(log).decode(errors="replace")
    print(f"pings while stuck: {stuck}, after: {resumed}")
    assert stuck == 0, "no WATCHDOG=1 while a daemon loop is stuck"
    assert resumed >= 3, "the pings come back once the loop goes round again"
    assert "daemon loop stuck" in text and f"{t.bridge} loop" in text, text[-2000:]
    assert "watchdog pings resumed" in text, text[-2000:]
    assert proc.stop() == 0


def test_unit_file_verifies():
    unit = os.path.join(REPO, "packaging", "xdplb.service")
    r = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True, timeout=60)
    # The binary is not installed here: only that complaint is allowed.
    problems = [l for l in (r.stdout + r.stderr).splitlines()
                if l.strip() and "/usr/sbin/xdplb" not in l and "man xdplb(8)" not in l]
    assert problems == [], "\n".join(problems)
