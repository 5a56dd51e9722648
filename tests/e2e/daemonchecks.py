"""What both daemon tests (namespaces, LXD) share: the load settings, an outage under load,
the report."""
import datetime
import os
import re
import time
from dataclasses import dataclass

from lib import log_ms_after, now_ms

DURATION = int(os.environ.get("XDM_DURATION", "20"))  # seconds of load per scenario


def rate(default):
    """Requests/s offered (XDM_RATE overrides)."""
    return int(os.environ.get("XDM_RATE", str(default)))


def report(e2e, line):
    """A figure line: printed, and appended to XDM_REPORT (default: the test's tmp)."""
    print(line)
    with open(os.environ.get("XDM_REPORT", e2e.path("report.txt")), "a") as f:
        f.write(line + "\n")


def ms(t):
    return "?" if t is None else str(t)


@dataclass
class Outage:
    load: object      # the finished HttpLoad
    fail: int         # epoch ms of the failure, of the daemon's DOWN, of the repair, of its UP
    down: int
    repair: int
    up: int

    @property
    def detection(self):
        return self.down - self.fail


def outage(load, daemon, what, fail, repair, down_re, up_re, fail_at=5, repair_after=7):
    """Under load: fail() fail_at s in, repair() repair_after s later; then the checks every
    outage shares: the daemon logged DOWN after the failure, no request that started after
    that (+20 ms) failed, and it logged UP after the repair by itself."""
    time.sleep(fail_at)
    t_fail = now_ms()
    fail()
    time.sleep(repair_after)
    t_repair = now_ms()
    repair()
    load.wait()
    log = daemon.output()
    down, up = log_ms_after(log, t_fail, down_re), log_ms_after(log, t_repair, up_re)
    print(f"  failure at +{load.rel(t_fail)} ms, DOWN at {ms(down and load.rel(down))}, repair at "
          f"+{load.rel(t_repair)} ms, UP at {ms(up and load.rel(up))}")
    assert down is not None, f"the daemon took {what} out"
    late = load.failures(load.rel(down) + 20)
    assert not late, (f"no failed request started after detection (+{load.rel(down)} ms, "
                      f"{down - t_fail} ms after the failure): {late[:5]}")
    assert up is not None, f"{what} came back by itself"
    return Outage(load, t_fail, down, t_repair, up)


def log_times(text, regex, frm=0, to=float("inf")):
    """Epoch ms of every daemon log line matching regex, within [frm, to]."""
    out = []
    for line in text.splitlines():
        m = re.match(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) ", line)
        if m and re.search(regex, line):
            t = int(datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").timestamp() * 1000)
            if frm <= t <= to:
                out.append(t)
    return out
