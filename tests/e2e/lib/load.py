"""A bounded HTTP load that records every request (xdplb_http_load, one new connection per
request), and the daemon log's timestamps to line events up with it."""
import datetime
import os
import re
import time
from dataclasses import dataclass

from .cmd import spawn


def now_ms():
    """Wall clock in epoch ms (the load's t0 and the daemon log are wall clock too)."""
    return int(time.time() * 1000)


@dataclass
class Request:
    start_ms: float   # since the load's t0
    dur_ms: float
    result: str       # HTTP status or ERR-reason
    port: int         # the client's local port (0: none, the socket never connected)
    body: str         # first body line, "_" for spaces


class HttpLoad:
    """load = HttpLoad(env, ns, addr, name=..., duration=20, rate=500): starts at once and
    returns when the generator has its t0; load.wait() returns when it is done and parses
    every request; then failed(), served_by_after(), rate(), slowest_after()."""

    def __init__(self, env, ns, addr, port=8000, path="/", name="load", duration=20, rate=500,
                 concurrency=32, timeout_ms=3000):
        if not env.http_load_bin:
            raise RuntimeError("no xdplb_http_load binary: build it or pass --http-load")
        self.name, self.duration = name, duration
        self.out = env.path(f"{name}.txt")
        self.proc = spawn([env.http_load_bin, addr, port, path, "--duration", duration,
                           "--rate", rate, "--concurrency", concurrency, "--timeout", timeout_ms,
                           "--out", self.out], env.path(f"{name}.err"), ns=ns, defer=env.defer)
        self.t0 = int(self.proc.wait_output(r"t0_epoch_ms (\d+)", 5).group(1))
        self.requests = None

    def rel(self, epoch_ms):
        """An epoch ms as ms since this load's t0."""
        return epoch_ms - self.t0

    def wait(self):
        self.proc.wait(timeout=self.duration + 30)
        with open(self.out) as f:
            self.requests = [Request(float(a), float(b), c, int(p), d)
                             for a, b, c, p, d in (line.split(" ", 4) for line in f.read().splitlines())]
        print(f"  {self.name}: {self.proc.output().splitlines()[-1]}")
        return self

    def failures(self, frm=-1.0, to=float("inf")):
        """The failed requests that started in [frm, to) ms of the run."""
        return [r for r in self.requests if r.result != "200" and frm <= r.start_ms < to]

    def failed(self, frm=-1.0, to=float("inf")):
        return len(self.failures(frm, to))

    def total(self):
        return len(self.requests)

    def rate(self):
        return round(self.total() / self.duration)

    def slowest_after(self, frm):
        return max((r.dur_ms for r in self.requests if r.start_ms >= frm), default=0.0)

    def served_by_after(self, frm, who):
        """Requests started at or after frm ms answered (200) with a body containing who
        ("Served_from_b2": spaces are "_" in the record)."""
        return sum(1 for r in self.requests if r.start_ms >= frm and r.result == "200" and who in r.body)


_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) ")


def log_ms_after(text, after_ms, regex):
    """Epoch ms of the first log line (daemon format "YYYY-mm-dd HH:MM:SS.mmm ...", local time)
    at or after epoch ms after_ms that matches regex; None if there is none."""
    for line in text.splitlines():
        m = _STAMP.match(line)
        if m and re.search(regex, line):
            t = int(datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").timestamp() * 1000)
            if t >= after_ms:
                return t
    return None


class TcpLog:
    """Which connections reached a backend (tcp_log.py in its namespace): every SYN that arrived
    for port and every RST it sent, by client port, with the wall clock. log = TcpLog(env, ns,
    name, seconds); log.stop(); then log.syns / log.rsts: {client port: [epoch ms, ...]}."""

    def __init__(self, env, ns, name, seconds, port=80, iface="eth0"):
        from .client import PYTHON
        self.out = env.path(f"tcp-log-{name}.txt")
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tcp_log.py")
        self.proc = spawn([PYTHON, script, iface, port, seconds, self.out],
                          env.path(f"tcp-log-{name}.err"), ns=ns, defer=env.defer)
        self.proc.wait_output("ready", 5)
        self.syns, self.rsts = {}, {}

    def stop(self):
        self.proc.stop()
        with open(self.out) as f:
            for line in f.read().splitlines():
                at, kind, port = line.split()
                (self.syns if kind == "S" else self.rsts).setdefault(int(port), []).append(int(at))
        return self

    def saw_syn(self, port, frm_ms, to_ms):
        """Whether a SYN from client port arrived within [frm_ms, to_ms] (epoch ms)."""
        return any(frm_ms <= t <= to_ms for t in self.syns.get(port, []))
