"""LXD containers and the daemon: backends added by name; `lxc stop --force` of one under a
bounded HTTP load takes it out (no failed request after the daemon saw it); `lxc start`
brings it back by itself (new veth, re-resolved, probed, back in the ring)."""
import time

import pytest

from daemonchecks import DURATION, ms, rate, report
from lib import HttpLoad, log_ms_after, now_ms, wait_until
from lib.containers import Lxd

pytestmark = pytest.mark.containers
RATE = rate(250)  # busybox httpd in the containers forks per request


def test_lxd_stop_start_under_load(e2e):
    t = e2e.topology(backends=0, net=236, host_ns=False, bridge=False)
    c1, c2 = f"{t.prefix}-w1", f"{t.prefix}-w2"
    lxd = Lxd(e2e, t, [c1, c2])
    lb = e2e.xdplb(t.host)
    lb("attach", t.bridge, "--uplink", t.uplink, "--no-host-local")
    for n in (c1, c2):
        lb("backend", "add", n, "--source", "lxd")
    lb("health", "--type", "tcp", "--interval", "0.2", "--timeout", "0.2", "--rise", "2", "--fall", "2")
    daemon = lb.daemon(e2e.path("daemon.log"))
    daemon.wait_output(f"daemon for {t.bridge}", 5)
    wait_until(lambda: [b["health"] for b in lb.status()["backends"]], 5,
               "both containers checked up", ok=lambda h: h == ["up", "up"])

    print(f"lxc stop --force {c2} under load, lxc start it 6 s later")
    load = HttpLoad(e2e, t.client, t.vip, name="l", duration=DURATION, rate=RATE, concurrency=16)
    time.sleep(4)
    stop = now_ms()
    lxd.stop(c2, force=True)
    time.sleep(6)
    start = now_ms()
    lxd.start(c2, wait=False)  # the daemon must find it again by itself
    load.wait()
    down = log_ms_after(daemon.output(), stop, rf"{c2}.*DOWN")
    up = log_ms_after(daemon.output(), start, rf"{c2}.*is UP")
    print(f"  stop at +{load.rel(stop)} ms, DOWN at {ms(down and load.rel(down))}, start at "
          f"+{load.rel(start)} ms, UP at {ms(up and load.rel(up))}")
    assert down is not None, f"the daemon took {c2} out"
    assert not load.failures(load.rel(down) + 20), \
        f"no failed request started after detection ({down - stop} ms after the stop)"
    assert up is not None, f"{c2} came back by itself"
    assert load.served_by_after(load.rel(up) + 50, c2) > 0, f"{c2} serves again after it is UP"
    report(e2e, f"lxd stop --force: {load.total()} requests, failed {load.failed()}, detection "
                f"{down - stop} ms, back UP {up - start} ms after lxc start")
    print("--- daemon log\n" + daemon.output())
    daemon.stop()
    lb("detach", t.bridge)
