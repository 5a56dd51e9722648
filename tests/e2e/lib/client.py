"""Clients run in a namespace: HTTP with curl, UDP with socat, the peer probe, downloads.

They return what the client saw ("FAIL"-free values: None for a failed request) so tests
assert on values, never on pasted output."""
import collections
import filecmp
import os

from .cmd import run
from .topo import svc_at
from .wait import wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"
FAIL = "FAIL"


def http(ns, url, local_port=None, timeout=3):
    """Body of one GET (stripped), None if it failed."""
    args = ["curl", "-s", "-g", "--fail-with-body", "--max-time", timeout]
    args += ["--local-port", local_port] if local_port else []
    r = run(args + [url], ns=ns, check=False, timeout=timeout + 5)
    return r.out.strip() if r.ok else None


def pages(ns, url, count, first_port=None):
    """count sequential GETs; with first_port each from its own source port (first_port,
    first_port+1, ...) so runs are repeatable. A list of bodies, FAIL for a failed one."""
    return [http(ns, url, first_port + i if first_port else None) or FAIL for i in range(count)]


def spread(ns, url, count, first_port=None):
    """Counter: how many of count GETs each body (or FAIL) answered."""
    return collections.Counter(pages(ns, url, count, first_port))


def served_by(counter):
    """Counter by backend name from "Served from bK" bodies (FAIL kept as FAIL)."""
    return collections.Counter(b.removeprefix("Served from ") for b in counter.elements())


def udp(ns, addr, port=8000, sourceport=None, timeout=2):
    """The answer (stripped) to one datagram "ping" to addr:port, None without one."""
    target = f"UDP6:[{addr}]:{port}" if ":" in addr else f"UDP4:{addr}:{port}"
    if sourceport:
        target += f",sourceport={sourceport}"
    r = run(["timeout", timeout + 3, "socat", f"-T{timeout}", "-", target], ns=ns, check=False,
            input="ping\n", timeout=timeout + 5)
    return r.out.strip() if r.ok and r.out.strip() else None


def probe(ns, proto, host, port=8000):
    """What a client sees of the address it dialled (peer_probe.py): for tcp
    "peer=ADDR:PORT body=...", for udp "from=ADDR:PORT body=..."; None on failure."""
    r = run([PYTHON, os.path.join(os.path.dirname(HERE), "peer_probe.py"), proto, host, port],
            ns=ns, check=False, timeout=15)
    return r.out.strip() if r.ok else None


def download(env, ns, url, reference, timeout=30):
    """Downloads url into tmp; returns (identical to reference, MB/s seen)."""
    got = env.path("got.bin")
    if os.path.exists(got):
        os.unlink(got)
    r = run(["curl", "-s", "-g", "--max-time", timeout, "-o", got, "-w", "%{speed_download}",
             url], ns=ns, check=False, timeout=timeout + 5)
    same = r.ok and os.path.exists(got) and filecmp.cmp(reference, got, shallow=False)
    speed = float(r.out or 0) / 1e6 if r.ok else 0.0
    print(f"  download {url} from {ns}: {speed:.0f} MB/s, identical={same}")
    return same, speed


def wait_http(ns, url, timeout=5):
    """Bounded wait until url answers from ns; returns the body."""
    return wait_until(lambda: http(ns, url, timeout=1), timeout, f"{url} to answer from {ns}")


def wait_udp(ns, addr, port, timeout=5):
    return wait_until(lambda: udp(ns, addr, port, timeout=1), timeout,
                      f"UDP {svc_at(addr, port)} to answer from {ns}")
