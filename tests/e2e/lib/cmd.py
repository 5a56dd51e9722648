"""Commands whose failure raises, run in the root namespace or in a named one.

A command is a list of arguments (never a shell string: captured output is never pasted into
code). `run` waits for it and returns its Result; `spawn` starts it in the background and
returns a Proc that the caller's Defer stops (SIGTERM, then SIGKILL) at the end of the test.
"""
import os
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass


class CmdError(AssertionError):
    """A command failed (or did not fail when it had to): says which, and what it printed."""

    def __init__(self, why, args, rc, out, err):
        self.args_ = list(args)
        self.rc, self.out, self.err = rc, out, err
        text = f"{why}: {shlex.join(self.args_)} (exit {rc})"
        if out.strip():
            text += f"\n--- stdout ---\n{out.rstrip()}"
        if err.strip():
            text += f"\n--- stderr ---\n{err.rstrip()}"
        super().__init__(text)


@dataclass
class Result:
    args: list
    rc: int
    out: str
    err: str

    @property
    def ok(self):
        return self.rc == 0


def in_netns(ns, args):
    """args prefixed to run in network namespace ns: a Netns (or anything with .path, the
    namespace file), a name under /run/netns, or None for the caller's namespace.

    nsenter, not `ip netns exec`: that one remounts /sys and hides /sys/fs/bpf."""
    args = [str(a) for a in args]
    path = getattr(ns, "path", None) if not isinstance(ns, str) else f"/run/netns/{ns}"
    return args if path is None else ["nsenter", f"--net={path}", *args]


def run(args, ns=None, check=True, timeout=60, input=None, env=None):
    """Runs args to completion; raises CmdError if it fails (exit != 0) and check is set.

    A command still running after timeout seconds is killed and counts as failed (rc -9)."""
    full = in_netns(ns, args)
    try:
        p = subprocess.run(full, input=input, capture_output=True, text=True,
                           errors="replace", timeout=timeout, env=env)
        res = Result(full, p.returncode, p.stdout, p.stderr)
    except subprocess.TimeoutExpired as e:
        res = Result(full, -9, _text(e.stdout), _text(e.stderr) + f"\n(killed after {timeout} s)")
    if check and not res.ok:
        raise CmdError("command failed", full, res.rc, res.out, res.err)
    return res


def run_fails(args, match=None, ns=None, timeout=60, env=None):
    """Runs args, which must fail (exit != 0) and, if match is given, print something that
    contains it (case-insensitive regular expression). Returns the Result."""
    import re
    res = run(args, ns=ns, check=False, timeout=timeout, env=env)
    if res.ok:
        raise CmdError("command succeeded but had to fail", res.args, res.rc, res.out, res.err)
    if match and not re.search(match, res.out + res.err, re.I):
        raise CmdError(f"command failed without saying /{match}/", res.args, res.rc, res.out,
                       res.err)
    return res


def _text(b):
    if b is None:
        return ""
    return b.decode(errors="replace") if isinstance(b, bytes) else b


class Proc:
    """A background process started by spawn. Its output goes to a file (log)."""

    def __init__(self, args, ns, log, env=None):
        self.args = in_netns(ns, args)
        self.log = log
        with open(log, "ab") as f:
            # Its own process group: stop() ends what it started too (sh -c children, cgi).
            self.popen = subprocess.Popen(self.args, stdout=f, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, env=env,
                                          start_new_session=True)
        self.pid = self.popen.pid

    def running(self):
        return self.popen.poll() is None

    def output(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def mark(self):
        """Where the output ends now: pass it as since= to wait for something new."""
        return len(self.output())

    def wait_output(self, regex, timeout, since=0, what=None):
        """Bounded wait until the output (from offset since on) matches regex (re.search);
        returns the match."""
        import re
        from .wait import wait_until
        text = wait_until(lambda: self.output()[since:], timeout,
                          what or f"/{regex}/ in the output of {shlex.join(self.args)}",
                          ok=lambda out: re.search(regex, out) is not None)
        return re.search(regex, text)

    def signal(self, sig):
        if self.running():
            os.kill(self.pid, sig)

    def wait(self, timeout=30):
        """Waits (bounded) for the process to end; returns its exit code."""
        return self.popen.wait(timeout=timeout)

    def stop(self, timeout=5):
        """SIGTERM, then SIGKILL after timeout s; always reaps. Safe to call twice."""
        if self.popen.poll() is None:
            _killpg(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _killpg(self.pid, signal.SIGKILL)
                self.popen.wait(timeout=timeout)
        # Whatever it started in its group (and left running) goes too.
        _killpg(self.pid, signal.SIGKILL)
        return self.popen.returncode

    def kill9(self):
        """SIGKILL to the process alone (a crash: its children are not told)."""
        self.signal(signal.SIGKILL)
        self.popen.wait(timeout=10)


def _killpg(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def spawn(args, log, ns=None, defer=None, env=None):
    """Starts args in the background (in ns), output to the file log; defer stops it."""
    p = Proc(args, ns, log, env=env)
    if defer is not None:
        defer(p.stop)
    return p


def monotonic_ms():
    return int(time.monotonic() * 1000)
