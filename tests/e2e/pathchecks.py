"""Checks of one client path that test_paths.py (IPv4) and test_ipv6.py (IPv6) share.

Backends run servers.httpd (with big.bin) and servers.udp_reply(peer=True) on both families."""
from lib import client, svc_at, url

HAIRPIN_PORTS = (61000, 65000)  # attach's default --hairpin-ports


def assert_both_served(got, count):
    """count of count served, by both backends b1 and b2, none failed."""
    assert sum(got.values()) == count and set(got) == {"b1", "b2"}, f"want {count} by b1+b2: {dict(got)}"


def assert_only(ns, target_url, count, name):
    """count requests from ns, all answered by backend name."""
    got = client.served_by(client.spread(ns, target_url, count))
    print(f"  {ns} -> {target_url}: {dict(got)}")
    assert dict(got) == {name: count}, f"all {count} answered by {name}"


def parse_peer(line):
    """"b1 ADDR PORT" -> (b1, ADDR, PORT); a failed request -> (None, None, -1)."""
    parts = (line or "").split()
    return (parts[0], parts[1], int(parts[2])) if len(parts) == 3 else (None, None, -1)


def check_host_path(e2e, t, target, big):
    """A process in the host namespace dials target:8000 (cgroup hooks): TCP served by both
    backends, a 10 MB download, getpeername shows what it dialled, UDP (connected and sendto)
    answered, replies come from what it dialled."""
    at = svc_at(target)
    print(f"host-local client -> {at} (cgroup hooks)")
    got = client.served_by(client.spread(t.host, url(target), 20))
    print(f"  {dict(got)}")
    assert_both_served(got, 20)
    assert client.download(e2e, t.host, url(target, "/big.bin"), big)[0], f"host 10 MB from {at}"
    probe = client.probe(t.host, "tcp", target)
    assert probe and probe.startswith(f"peer={at} body=Served from b"), f"getpeername: {probe}"
    udp = client.udp(t.host, target)
    assert parse_peer(udp)[0] in ("b1", "b2"), f"host UDP (connected) to {at}: {udp}"
    probe = client.probe(t.host, "udp", target)
    assert probe and probe.startswith(f"from={at} body=b"), f"host UDP (sendto) reply source: {probe}"


def check_hairpin_path(e2e, t, target, snat, big):
    """Backend b1 dials target:8000 (TC on the bridge): TCP served by b1 itself and by b2, a
    10 MB download, the backend sees snat with a port in HAIRPIN_PORTS, the container's peer is
    what it dialled; the same for UDP."""
    at = svc_at(target)
    lo, hi = HAIRPIN_PORTS
    b1 = t.backend(1).ns
    print(f"hairpin: backend b1 -> {at} (TC on the bridge)")
    got = client.served_by(client.spread(b1, url(target), 20))
    print(f"  {dict(got)}")
    assert_both_served(got, 20)  # b1 is served by itself too, and by b2
    assert client.download(e2e, b1, url(target, "/big.bin"), big)[0], f"hairpin 10 MB from {at}"
    name, addr, port = parse_peer(client.http(b1, url(target, "/cgi-bin/peer")))
    assert (addr, lo <= port <= hi) == (snat, True), f"backend sees {addr}:{port}, want {snat}:{lo}-{hi}"
    probe = client.probe(b1, "tcp", target)
    assert probe and probe.startswith(f"peer={at} body=Served from b"), f"container's peer: {probe}"
    udp = client.udp(b1, target)
    name, addr, port = parse_peer(udp)
    assert name in ("b1", "b2") and addr == snat and lo <= port <= hi, f"hairpin UDP: {udp}"
    probe = client.probe(b1, "udp", target)
    assert probe and probe.startswith(f"from={at} body=b"), f"hairpin UDP reply source: {probe}"
