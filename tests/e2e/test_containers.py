"""The container scenario, on LXD and on classic LXC (a parametrised driver): backends by
container name, requests reach every container, remove + stop without failures, a container
added later, refresh after a restart, a stopped one taken out by refresh, clear errors.
With LXD also IPv6 by container name: the bridge has an IPv6 prefix (dnsmasq sends RAs, the
containers take SLAAC addresses), the uplink and client have IPv6 addresses, every container
is also an IPv6 entry, and UDP over IPv6 is answered by a responder in each container."""
import ipaddress

import pytest

from lib import client, servers, url
from lib.containers import DRIVERS, page

pytestmark = pytest.mark.containers
NET = {"lxd": 232, "lxc": 233}


@pytest.fixture(params=sorted(DRIVERS))
def driver(request):
    return DRIVERS[request.param]


def count(pages, name):
    return pages.count(page(name))


def test_container_scenario(e2e, driver):
    t = e2e.topology(backends=0, net=NET[driver.kind], ipv6=driver.ipv6_capable, host_ns=False, bridge=False)
    c1, c2, c3 = (f"{t.prefix}-w{k}" for k in (1, 2, 3))
    d = driver(e2e, t, [c1, c2, c3])
    d.stop(c3)
    big = None
    if d.ipv6:
        # A 10 MB file every container serves as /big.bin (the IPv6 download check).
        big = e2e.big_file()
        for n in (c1, c2, c3):
            d.push(n, big, "/www/big.bin")
    lb = e2e.xdplb(t.host)
    families = 2 if d.ipv6 else 1

    def entries(name, status=None):
        return [b for b in (status or lb.status())["backends"] if b.get("name") == name]

    def check_v6_entries(*names):
        """One IPv6 entry each, in the bridge's prefix, in the ring on the fast path."""
        st = lb.status()
        for n in names:
            v6 = [b for b in entries(n, st) if ":" in b["address"]]
            print(f"  {n} IPv6 entries: {[b['address'] for b in v6]}")
            assert len(v6) == 1, f"{n} has one IPv6 entry"
            assert ipaddress.ip_address(v6[0]["address"]) in ipaddress.ip_network(t.bridge_net6)
            assert v6[0]["in_ring"] and v6[0]["path"] == "redirect", f"{n}'s IPv6 entry: {v6[0]}"

    def pages(first_port, n, v6=False):
        return client.pages(t.client, url(t.vip6 if v6 else t.vip), n, first_port=first_port)

    def both_serve(got, a, b, n, what):
        print(f"  {what}: {a} {count(got, a)}, {b} {count(got, b)}")
        assert count(got, a) + count(got, b) == n, f"{what}: {n} of {n} succeed"
        assert count(got, a) >= 1 and count(got, b) >= 1, f"{what}: {a} and {b} serve"

    print("attach and add containers by name")
    lb("attach", t.bridge, "--uplink", t.uplink)
    lb("backend", "add", c1, *d.add_args)
    lb("backend", "add", c2, *d.add_args)
    lb.fails("backend", "add", "nosuchct", "--wait", "0", match="nosuchct.*(lxd|lxc)")
    lb.fails("backend", "add", c3, "--wait", "0", *d.add_args, match="stopped")
    lb.fails("backend", "add", c1, *d.add_args, match="already")
    print(lb("backend", "list").out)
    listed = lb.json("backend", "list")
    assert sum(b["path"] == "redirect" for b in listed) == 2 * families, "by name on the fast path"
    if d.ipv6:
        assert t.vip6 in lb.status()["service"]["vips"], f"{t.vip6} is a service address"
        check_v6_entries(c1, c2)

    print("requests reach every container")
    both_serve(pages(40001, 20), c1, c2, 20, "IPv4")
    if d.ipv6:
        both_serve(pages(45001, 20, v6=True), c1, c2, 20, "IPv6")
        assert client.download(e2e, t.client, url(t.vip6, "/big.bin"), big)[0], "IPv6 10 MB"
        # The busybox image has no UDP responder: one in each container's network namespace,
        # answering "<name> <client address> <port>", stopped before the container is.
        udp = [servers.udp_reply(e2e, d.netns(n), n, v6=True, peer=True) for n in (c1, c2)]
        for n in (c1, c2):
            client.wait_udp(t.host, next(b["address"] for b in entries(n) if ":" in b["address"]), 80)
        answers = [client.udp(t.client, t.vip6, sourceport=50000 + i) for i in range(1, 21)]
        seen = [tuple((a or "").split()[:2]) for a in answers]
        print(f"  IPv6 UDP answers: {sorted(set(seen))}")
        assert all(s in {(c1, t.client_ip6), (c2, t.client_ip6)} for s in seen), \
            "IPv6 UDP: 20 of 20 answered, the client's address seen by the container"
        assert {s[0] for s in seen} == {c1, c2}, "IPv6 UDP: both containers answer"
        for p in udp:
            p.stop()

    print(f"remove {c1}, then stop it: no failures")
    lb("backend", "remove", c1)
    assert not entries(c1), f"remove {c1} removed all its entries"
    d.stop(c1)
    assert count(pages(41001, 10), c2) == 10, f"10 of 10 from {c2}"
    if d.ipv6:
        assert count(pages(46001, 10, v6=True), c2) == 10, f"IPv6: 10 of 10 from {c2}"

    print("a container added later serves")
    d.start(c3)
    lb("backend", "add", c3, *d.add_args)
    both_serve(pages(42001, 20), c2, c3, 20, f"IPv4 with {c3} added")
    if d.ipv6:
        check_v6_entries(c3)
        both_serve(pages(47001, 20, v6=True), c2, c3, 20, f"IPv6 with {c3} added")

    print(f"restart {c3}: its veth changes; refresh picks up the new one")
    old_via = entries(c3)[0]["via"]
    d.restart(c3)
    lb("backend", "refresh", c3, "--wait", "10")
    new_via = entries(c3)[0]["via"]
    print(f"  {c3} veth: {old_via} -> {new_via}")
    assert new_via and new_via != old_via, "refresh found the new host-side veth"
    both_serve(pages(43001, 20), c2, c3, 20, "IPv4 after the restart")
    if d.ipv6:
        check_v6_entries(c3)
        both_serve(pages(48001, 20, v6=True), c2, c3, 20, "IPv6 after the restart")

    print("stopped container: refresh takes it out of the rotation")
    d.stop(c3)
    lb("backend", "refresh", c3, "--wait", "0")
    assert count(pages(44001, 10), c2) == 10, f"10 of 10 from {c2} with {c3} down"
    assert not [b for b in entries(c3) if b["in_ring"]], f"{c3}'s entries all out of the rotation"
    if d.ipv6:
        assert count(pages(49001, 10, v6=True), c2) == 10, f"IPv6: 10 of 10 from {c2}"
    print(lb("status").out)
    lb("detach", t.bridge)
