"""The schedulers: round-robin gives equal turns (external and host-local clients); least-conn
sends new requests away from a backend that holds long connections, and the active-connection
counts go back to 0 when connections end; with the daemon, a backend that comes back ramps its
weight up (slow start)."""
import collections
import os

from lib import client, servers, spawn, url, wait_until

NET = 91


def start(e2e):
    t = e2e.topology(backends=3, net=NET)
    t.httpd = {b.k: servers.httpd(e2e, b.ns, b.name) for b in t.backends}
    for b in t.backends:
        client.wait_http(t.host, f"http://{b.ip}/")
    return t, e2e.xdplb(t.host)


def per_backend(t, bodies):
    """[n1, n2, n3]: how many of bodies each backend served."""
    got = collections.Counter(bodies)
    return [got[f"Served from {b.name}"] for b in t.backends]


def counts(t, lb):
    """Each backend's active connections as `xdplb status --json` shows them."""
    s = lb.status()
    return [lb.backend(b.ip, s)["connections"] for b in t.backends]


def placements(t, lb):
    """Each backend's weight in the pool's member list now (0: not a member)."""
    s = lb.status()
    return [lb.backend(b.ip, s)["placement_weight"] for b in t.backends]


def wait_counts(t, lb, want, what):
    wait_until(lambda: counts(t, lb), 5, what, ok=lambda c: c == want)


def wait_placements(t, lb, want, what):
    # The daemon logs a change from inside it and writes the rings right after, so a read at
    # the log line may still see the old ones.
    wait_until(lambda: placements(t, lb), 3, what, ok=lambda p: p == want)


def test_round_robin_and_least_conn(e2e):
    t, lb = start(e2e)
    lb.fails("attach", t.bridge, "--uplink", t.uplink, "--scheduler", "fastest",
             match="scheduler 'fastest' is not known")
    assert not lb.attached(), "nothing pinned after the failed attach"

    lb("attach", t.bridge, "--uplink", t.uplink, "--scheduler", "round-robin")
    for b in t.backends:
        lb("backend", "add", b.ip)
    assert lb.status()["service"]["scheduler"] == "round-robin"
    assert lb.state(t.bridge)["services"][0]["scheduler"] == "round-robin", "the saved state says round-robin"

    print("round-robin: 12 sequential requests from the client")
    assert per_backend(t, client.pages(t.client, url(t.vip), 12, first_port=40001)) == [4, 4, 4]
    wait_counts(t, lb, [0, 0, 0], "finished requests to leave no active connection")

    print("round-robin: 12 requests from the host itself (cgroup hooks)")
    assert per_backend(t, client.pages(t.host, url(t.vip), 12)) == [4, 4, 4], "host-local turns"
    wait_counts(t, lb, [0, 0, 0], "closed host sockets to leave no active connection (sock_release)")

    print("changing the scheduler")
    lb.fails("scheduler", "least_conn", match="scheduler 'least_conn' is not known.*least-conn")
    assert "round-robin" in lb("scheduler").out, "an unknown name changes nothing"
    lb("scheduler", "least-conn")
    assert "scheduler least-conn" in lb("status").out
    assert lb.state(t.bridge)["services"][0]["scheduler"] == "least-conn", "the saved state says least-conn"

    print("least-conn: b1 takes 3 long requests (b2, b3 drained meanwhile)")
    b1, b2, b3 = t.backends
    lb("backend", "drain", b2.ip)
    lb("backend", "drain", b3.ip)
    slow = []
    for i in range(3):
        out = e2e.path(f"slow{i}.out")
        slow.append((out, spawn(["curl", "-s", "--max-time", "30", "-o", out,
                                 url(t.vip, "/cgi-bin/slow?8")], out + ".log", ns=t.client,
                                defer=e2e.defer)))
    wait_counts(t, lb, [3, 0, 0], "b1 to count the 3 open connections")
    lb("backend", "undrain", b2.ip)
    lb("backend", "undrain", b3.ip)

    print("least-conn: 10 short requests while b1 holds them")
    n = per_backend(t, client.pages(t.client, url(t.vip), 10, first_port=41001))
    print(f"  {n}")
    assert n[0] == 0 and n[1] + n[2] == 10, "no short request went to the busy b1"
    assert n[1] > 0 and n[2] > 0, "both idle backends served some"
    assert counts(t, lb)[0] == 3, "b1 still counts 3 while they run"

    print("the long requests finish")
    for out, p in slow:
        p.wait(timeout=30)
        with open(out) as f:
            assert f.read().split()[:1] == ["b1"], f"long request {out} answered by b1"
    wait_counts(t, lb, [0, 0, 0], "every count back to 0 once the connections end (FIN)")
    lb("detach", t.bridge)
    assert not os.path.exists(os.path.join(lb.pin_root, t.bridge)), "no pins left"


def test_slow_start(e2e):
    t, lb = start(e2e)
    lb("attach", t.bridge, "--uplink", t.uplink, "--scheduler", "least-conn")
    for b in t.backends:
        lb("backend", "add", b.ip)
    b3 = t.backend(3)
    print("slow start: the daemon (tcp checks every 0.2 s, rise 2, fall 2) ramps b3 up over 20 s")
    lb("health", "--type", "tcp", "--interval", "0.2", "--timeout", "0.2", "--rise", "2",
       "--fall", "2", "--slow-start", "20")
    daemon = lb.daemon(e2e.path("daemon.log"))
    daemon.wait_output(f"daemon for {t.bridge}", 5)
    wait_until(lambda: [b["health"] for b in lb.status()["backends"]], 5,
               "the daemon to probe every backend up", ok=lambda h: h == ["up"] * 3)
    assert placements(t, lb) == [1, 1, 1], "placement weights are the saved ones"
    t.httpd[3].stop()
    daemon.wait_output(rf"{b3.ip}:80 is DOWN", 5)
    wait_placements(t, lb, [1, 1, 0], "b3 out of the member list")
    servers.httpd(e2e, b3.ns, b3.name)
    daemon.wait_output(rf"{b3.ip}:80 is UP.*ramping up over 20000 ms", 5)
    w1 = wait_until(lambda: placements(t, lb)[0], 2, "b1's weight to be scaled up from 1",
                    ok=lambda w: w > 1)
    w3 = placements(t, lb)[2]
    assert 1 <= w3 < w1 // 2, f"while ramping, b3's weight ({w3}) is far below b1's ({w1})"
    wait_until(lambda: placements(t, lb)[2], 3, f"b3's weight to grow from {w3} (once a second)",
               ok=lambda w: w > w3)
    daemon.wait_output("slow start over", 30)
    wait_placements(t, lb, [1, 1, 1], "the saved weights back after the ramp")
    lb("scheduler", "maglev")
    daemon.wait_output(r"scheduler now maglev \(was least-conn\)", 5)
    daemon.stop()
    lb("detach", t.bridge)
    assert not lb.attached(), "no pins left"
