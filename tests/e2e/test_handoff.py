"""`xdplb backend add/remove/drain/undrain` with the bridge's daemon running: the command is
handed to the daemon over its control socket (<state>/<bridge>.ctl.sock) and runs there; its
output and exit code come back as if the CLI had run it. A refused command gives the same
one-line error and exit code as without a daemon and changes nothing; a daemon that died and
left its socket behind makes the CLI do the change itself."""
import os
import signal

from lib.wait import wait_until

NET = 147


def handed(daemon, since, command):
    """The daemon's log line for a command it ran for the CLI (its exit code)."""
    m = daemon.wait_output(rf"ran `xdplb {command}[^`]*` for the CLI in [0-9.]+ ms \(exit (\d+)\)", 5,
                           since=since, what=f"the daemon to run `{command}` for the CLI")
    return int(m.group(1))


def state_bytes(lb, bridge):
    with open(os.path.join(lb.state_dir, f"{bridge}.json"), "rb") as f:
        return f.read()


def test_backend_commands_handed_to_the_daemon(e2e):
    t = e2e.topology(backends=2, net=NET)
    lb = e2e.xdplb(t.host)
    b1, b2 = t.backend(1), t.backend(2)
    lb("attach", t.bridge, "--uplink", t.uplink, "--no-host-local")
    lb("backend", "add", b1.ip)
    daemon = lb.daemon(e2e.path("daemon.log"))
    daemon.wait_output(f"daemon for {t.bridge}", 10)
    sock = os.path.join(lb.state_dir, f"{t.bridge}.ctl.sock")
    wait_until(lambda: os.path.exists(sock), 5, "the control socket")
    assert oct(os.stat(sock).st_mode & 0o777) == "0o600", "root only"

    # Happy path: the daemon makes the change, the CLI prints what it said.
    mark = daemon.mark()
    r = lb("backend", "add", b2.ip, "--weight", "3")
    assert r.out.startswith(f"added backend {b2.ip}:80 to {t.bridge}"), r.out
    assert handed(daemon, mark, "backend add") == 0
    assert lb.backend(b2.ip)["weight"] == 3, "the change is in the maps and the state"

    # Refused in the daemon: one line, exit 1, nothing changed.
    before = state_bytes(lb, t.bridge)
    mark = daemon.mark()
    dup = lb("backend", "add", b2.ip, check=False)
    assert dup.rc == 1 and dup.out == "", (dup.rc, dup.out)
    assert dup.err.count("\n") == 1 and dup.err.startswith("xdplb: ") and "already a backend" in dup.err, dup.err
    assert handed(daemon, mark, "backend add") == 1
    assert state_bytes(lb, t.bridge) == before, "a refused change leaves the state as it was"
    mark = daemon.mark()
    gone = lb("backend", "remove", f"10.{NET}.0.99", check=False)
    assert gone.rc == 1 and "no backend" in gone.err, gone.err
    assert handed(daemon, mark, "backend remove") == 1

    # drain, undrain and remove go the same way.
    for cmd in (("drain", b2.ip), ("undrain", b2.ip), ("remove", b2.ip)):
        mark = daemon.mark()
        lb("backend", *cmd)
        assert handed(daemon, mark, f"backend {cmd[0]}") == 0
    assert lb.backend(b2.ip) is None, "removed through the daemon"

    # A daemon that died (kill -9) leaves its socket: the CLI does the change itself.
    daemon.signal(signal.SIGKILL)
    daemon.wait(5)
    assert os.path.exists(sock), "kill -9 left the socket"
    r = lb("backend", "add", b2.ip)
    assert r.out.startswith(f"added backend {b2.ip}:80 to {t.bridge}"), r.out
    assert lb.backend(b2.ip) is not None, "added by the CLI itself"
    # The same refusal, word for word, without a daemon.
    before = state_bytes(lb, t.bridge)
    local = lb("backend", "add", b2.ip, check=False)
    assert (local.rc, local.out, local.err) == (dup.rc, dup.out, dup.err)
    assert state_bytes(lb, t.bridge) == before

    # A new daemon replaces the stale socket and takes the commands again.
    daemon = lb.daemon(e2e.path("daemon2.log"))
    daemon.wait_output(f"daemon for {t.bridge}", 10)
    mark = daemon.mark()
    lb("backend", "remove", b2.ip)
    assert handed(daemon, mark, "backend remove") == 0
    daemon.stop()
    assert not os.path.exists(sock), "an orderly stop removes the socket"
