"""Services as first-class objects: a web service (TCP 8000 -> three HTTP backends :80) and a
UDP service (5353 -> two UDP backends :53) on one bridge, each reached from an external
client, the host itself and a container on the bridge and served only by its own backends;
`service remove` of one leaves the other; --listen; a port range; detach + attach restores
every service; source affinity; backups; bad input refused with nothing changed."""
import collections

from lib import client, run, servers, svc_at, url, wait_until

NET = 87
WEB = ("b1", "b2", "b3")
DNS = ("b4", "b5")


def topology(e2e, backends=5):
    """b1-b3 busybox httpd on :80, b4-b5 UDP servers on :53 (and b1-b3 on :53 too, so a
    datagram that went to the wrong service's backend would be answered and seen)."""
    t = e2e.topology(backends=backends, net=NET)
    for b in t.backends:
        if b.name in DNS:
            servers.udp_reply(e2e, b.ns, b.name, port=53)
        else:
            servers.httpd(e2e, b.ns, b.name)
            servers.udp_reply(e2e, b.ns, b.name, port=53)
    for b in t.backends:
        if b.name not in DNS:
            client.wait_http(t.host, f"http://{b.ip}/")
        client.wait_udp(t.host, b.ip, 53)
    return t, e2e.xdplb(t.host)


def two_services(t, lb):
    lb("attach", t.bridge, "--uplink", t.uplink)
    lb("service", "remove", "default")
    lb("service", "add", "web", "--port", "8000", "--proto", "tcp", "--backend-port", "80")
    lb("service", "add", "dns", "--port", "5353", "--proto", "udp", "--backend-port", "53")
    for b in t.backends:
        lb("backend", "add", b.ip, "--service", "dns" if b.name in DNS else "web")


def web_from(ns, addr, count, first_port):
    return client.served_by(client.spread(ns, url(addr), count, first_port=first_port))


def dns_from(ns, addr, count, first_port):
    return collections.Counter(client.udp(ns, addr, 5353, sourceport=first_port + i) or "FAIL"
                               for i in range(count))


def assert_only(got, names, what):
    assert sum(got[n] for n in names) == sum(got.values()), f"{what}: only {names} answer: {dict(got)}"
    assert len([n for n in names if got[n]]) >= 2, f"{what}: spread over its backends: {dict(got)}"


def test_two_services_each_only_by_its_own_backends(e2e):
    t, lb = topology(e2e)
    two_services(t, lb)
    print(lb("service", "list").out)
    print(lb("status").out)

    # External client, the host itself (VIP and 127.0.0.1), a container on the bridge (hairpin).
    assert_only(web_from(t.client, t.vip, 30, 40001), WEB, "web from the client")
    assert_only(dns_from(t.client, t.vip, 20, 41001), DNS, "dns from the client")
    for addr in (t.vip, "127.0.0.1"):
        assert_only(web_from(t.host, addr, 12, None), WEB, f"web from the host to {addr}")
        assert_only(dns_from(t.host, addr, 12, 42001), DNS, f"dns from the host to {addr}")
    b4, b1 = t.backend(4), t.backend(1)
    assert_only(web_from(b4.ns, t.bridge_ip, 12, None), WEB, "web from container b4")
    assert_only(dns_from(b1.ns, t.bridge_ip, 12, 43001), DNS, "dns from container b1")
    assert client.udp(t.client, t.vip, 8000, timeout=1) is None, "web is TCP only"

    # Removing dns leaves web, its flows and its counters as they were.
    before = {b["address"]: b for b in lb.status()["backends"]}
    lb("service", "remove", "dns")
    after = {b["address"]: b for b in lb.status()["backends"]}
    for b in t.backends:
        if b.name in WEB:
            for key in ("id", "packets", "new_flows", "flow_entries"):
                assert after[b.ip][key] == before[b.ip][key], f"{b.name} {key} kept by the removal"
        else:
            assert b.ip not in after, f"{b.name} went with its service"
    assert client.udp(t.client, t.vip, 5353, timeout=1) is None, "dns no longer served"
    assert_only(web_from(t.client, t.vip, 30, 44001), WEB, "web after removing dns")
    assert [s["name"] for s in lb.json("service", "list")] == ["web"]


def test_bad_input_is_refused_and_changes_nothing(e2e):
    t, lb = topology(e2e)
    two_services(t, lb)
    listed = lb.json("service", "list")
    state = lb.state(t.bridge)
    lb.fails("backend", "add", f"10.{NET}.0.99", match="several services \\(web, dns\\): pick one with --service")
    lb.fails("backend", "add", f"10.{NET}.0.99", "--service", "mail", match="no service 'mail'; its services: web, dns")
    lb.fails("service", "add", "web", "--port", "9000", match="already has a service 'web'")
    lb.fails("service", "add", "web2", "--port", "8000", "--proto", "tcp",
             match="service 'web2' and service 'web' both claim .*:8000/tcp")
    lb.fails("service", "add", "x", "--port", "9000-8000", match="first port must not be above the last")
    lb.fails("service", "add", "x", "--port", "70000", match="65535")
    lb.fails("service", "add", "x", match="give its port with --port")
    lb.fails("service", "add", "1x", "--port", "9000", match="does not start with a letter")
    lb.fails("service", "add", "x", "--port", "9000", "--affinity", "sticky", match="affinity 'sticky' is unknown")
    lb.fails("service", "add", "x", "--port", "9000", "--affinity", "source", "--scheduler", "least-conn",
             match="affinity source places clients by the Maglev ring")
    lb.fails("service", "add", "x", "--port", "9000", "--listen", "10.0.0.300", match="10.0.0.300")
    lb.fails("service", "set", "mail", "--port", "9000", match="no service 'mail'")
    lb.fails("service", "set", "dns", "--port", "8000", "--proto", "tcp", match="both claim")
    lb.fails("service", "remove", "mail", match="no service 'mail'")
    lb.fails("service", "add", "big", "--port", "1-5000", match="XDPLB_MAX_SERVICES")
    lb.fails("health", "--service", "dns", "--type", "tcp", match="UDP only")
    for r in (lb.fails("service", "add", "web", "--port", "9000"),):
        assert len(r.err.strip().splitlines()) == 1, f"one clear line: {r.err!r}"
    assert lb.json("service", "list") == listed, "nothing changed"
    assert lb.state(t.bridge) == state, "the saved state did not change"


def test_listen_range_and_restore_after_detach(e2e):
    t, lb = topology(e2e)
    extra = f"10.{NET}.1.100"
    t.host.addr_add(t.uplink, f"{extra}/24")
    lb("attach", t.bridge, "--uplink", t.uplink, "--port", "8000", "--proto", "tcp")
    lb("backend", "add", t.backend(1).ip)
    lb("service", "add", "alt", "--port", "9000", "--proto", "tcp", "--listen", extra)
    lb("backend", "add", t.backend(2).ip, "--service", "alt")
    lb("service", "add", "range", "--port", "30000-30004", "--proto", "udp", "--backend-port", "53")
    lb("backend", "add", t.backend(4).ip, "--service", "range")
    lb("health", "--service", "alt", "--type", "http", "--path", "/")

    assert client.http(t.client, url(extra, port=9000)) == "Served from b2", "alt on its --listen address"
    assert client.http(t.client, url(t.vip, port=9000), timeout=2) is None, "alt not on the VIP"
    assert client.http(t.client, url(t.vip)) == "Served from b1", "default still on the VIP"
    for port in range(30000, 30005):
        assert client.udp(t.client, t.vip, port) == "b4", f"range port {port}"
    assert client.udp(t.client, t.vip, 30005, timeout=1) is None, "past the range"

    # An address that appears later is followed (re-read on the next change).
    late = f"10.{NET}.1.101"
    t.host.addr_add(t.uplink, f"{late}/24")
    lb("backend", "add", t.backend(3).ip, "--service", "default")
    assert client.http(t.client, url(late)) in {"Served from b1", "Served from b3"}, "a new uplink address"

    listed = lb.json("service", "list")
    lb("detach", t.bridge)
    assert client.http(t.client, url(extra, port=9000), timeout=2) is None
    lb("attach", t.bridge, "--uplink", t.uplink)  # what a reboot does: no service options
    assert lb.json("service", "list") == listed, "every service restored exactly"
    assert client.http(t.client, url(extra, port=9000)) == "Served from b2"
    assert client.udp(t.client, t.vip, 30003) == "b4"
    assert client.udp(t.client, t.vip, 8000, timeout=1) is None, "default stays TCP only (the reboot defect)"


def test_source_affinity_on_every_client_path(e2e):
    t, lb = topology(e2e)
    lb("attach", t.bridge, "--uplink", t.uplink, "--proto", "tcp", "--affinity", "source")
    for b in t.backends[:3]:
        lb("backend", "add", b.ip)
    one = web_from(t.client, t.vip, 30, 45001)
    assert len(one) == 1 and sum(one.values()) == 30, f"30 connections of one client, one backend: {dict(one)}"
    addrs = [f"10.{NET}.1.{50 + i}" for i in range(30)]
    for a in addrs:
        t.client.addr_add("eth0", f"{a}/24")
    many = collections.Counter()
    for a in addrs:
        r = run(["curl", "-s", "--max-time", "3", "--interface", a, url(t.vip)], ns=t.client, check=False)
        many[r.out.strip().removeprefix("Served from ") if r.ok else "FAIL"] += 1
    assert many["FAIL"] == 0 and len(many) >= 2, f"30 client addresses spread: {dict(many)}"
    for ns, addr, what in ((t.host, "127.0.0.1", "host"), (t.backend(4).ns, t.bridge_ip, "container b4")):
        got = web_from(ns, addr, 10, None)
        assert len(got) == 1 and "FAIL" not in got, f"{what}: one backend for all its connections: {dict(got)}"


def test_backup_takes_over_and_hands_back(e2e):
    t, lb = topology(e2e)
    lb("attach", t.bridge, "--uplink", t.uplink, "--proto", "tcp")
    lb("backend", "add", t.backend(1).ip)
    lb("backend", "add", t.backend(2).ip)
    lb("backend", "add", t.backend(3).ip, "--backup")
    got = web_from(t.client, t.vip, 20, 46001)
    assert got["b3"] == 0 and got["b1"] + got["b2"] == 20, f"the backup waits: {dict(got)}"
    assert not lb.backend(t.backend(3).ip)["in_ring"]

    lb("backend", "remove", t.backend(1).ip)
    lb("backend", "remove", t.backend(2).ip)
    got = web_from(t.client, t.vip, 20, 47001)
    assert got["b3"] == 20, f"no primary: the backup serves every request: {dict(got)}"
    assert lb.backend(t.backend(3).ip)["in_ring"]

    lb("backend", "add", t.backend(1).ip)
    got = web_from(t.client, t.vip, 20, 48001)
    assert got["b1"] == 20, f"a primary back: new flows leave the backup: {dict(got)}"
    wait_until(lambda: not lb.backend(t.backend(3).ip)["in_ring"], 2, "the backup out of the pool")


def test_port_range_onto_a_range_keeps_the_offset(e2e):
    """--port 30000-30009 --backend-port 8000-8009: 30003 reaches the backend's 8003 from an
    external client, the host and a container (hairpin), TCP and UDP; bad ranges refused."""
    t = e2e.topology(backends=2, net=NET)
    b1, b2 = t.backend(1), t.backend(2)
    for port in range(8000, 8010):
        servers.udp_reply(e2e, b1.ns, "b1", port=port, text=f"b1:{port}")
    servers.httpd(e2e, b1.ns, "b1-8003", port=8003)  # only 8003 speaks HTTP
    client.wait_http(t.host, url(b1.ip, port=8003))
    client.wait_udp(t.host, b1.ip, 8009)
    lb = e2e.xdplb(t.host)
    lb("attach", t.bridge, "--uplink", t.uplink, "--port", "30000-30009", "--backend-port", "8000-8009")
    lb("backend", "add", b1.ip)
    assert lb.json("service", "list")[0]["backend_ports"] == "8000-8009"

    for port in (30000, 30003, 30009):
        assert client.udp(t.client, t.vip, port) == f"b1:{port - 22000}", f"external client, UDP {port}"
    for ns, addr, what in ((t.client, t.vip, "external client"), (t.host, "127.0.0.1", "the host"),
                           (b2.ns, t.bridge_ip, "container b2")):
        assert client.http(ns, url(addr, port=30003)) == "Served from b1-8003", f"{what}: TCP 30003 -> 8003"
        assert client.udp(ns, addr, 30004) == "b1:8004", f"{what}: UDP 30004 -> 8004"

    listed, state = lb.json("service", "list"), lb.state(t.bridge)
    for args, match in (
            (("--backend-port", "8000-8004"), "ports 30000-30009 are 10 and backend ports 8000-8004 are 5"),
            (("--port", "65530-65540"), "65535"),
            (("--backend-port", "65530-65540"), "--backend-port: .*65535"),
    ):
        r = lb.fails("service", "set", "default", *args, match=match)
        assert len(r.err.strip().splitlines()) == 1, f"one clear line: {r.err!r}"
    r = lb.fails("service", "add", "other", "--port", "30005-30014", "--backend-port", "9000-9009",
                 match="service 'other' and service 'default' both claim .*:30005/")
    assert len(r.err.strip().splitlines()) == 1, f"one clear line: {r.err!r}"
    assert lb.json("service", "list") == listed and lb.state(t.bridge) == state, "nothing changed"

    lb("detach", t.bridge)
    lb("attach", t.bridge, "--uplink", t.uplink)
    assert lb.json("service", "list") == listed, "the range mapping restored"
    assert client.http(t.client, url(t.vip, port=30003)) == "Served from b1-8003"


def test_load_sizes_kept_and_addresses_reread_by_every_change(e2e):
    """--flow-table, --syn-table and --hairpin-ports are kept in the state and come back with a
    bare attach; without the daemon every change command re-reads the addresses a service
    answers on."""
    t = e2e.web_topology(backends=2, net=NET)
    lb = e2e.xdplb(t.host)
    lb.fails("attach", t.bridge, "--uplink", t.uplink, "--flow-table", "4096", "--syn-table", "8192",
             match="--syn-table: SYN table size 8192 is larger than the flow table")
    lb("attach", t.bridge, "--uplink", t.uplink, "--proto", "tcp", "--flow-table", "4096",
       "--syn-table", "1024", "--hairpin-ports", "62000-62999")
    lb("backend", "add", t.backend(1).ip)
    assert (lb.status()["flow_table_size"], lb.status()["syn_table_size"]) == (4096, 1024)
    assert "SYN-only flows' replies: a table of 1024" in lb("status").out
    lb("detach", t.bridge)
    lb("attach", t.bridge, "--uplink", t.uplink)  # what a reboot does
    assert lb.status()["flow_table_size"] == 4096, "--flow-table restored by a bare attach"
    assert lb.status()["syn_table_size"] == 1024, "--syn-table restored by a bare attach"
    state = lb.state(t.bridge)
    assert (state["flow_table"], state["syn_table"], state["hairpin_ports"]) == (4096, 1024, "62000-62999")
    served = client.http(t.backend(1).ns, f"http://{t.bridge_ip}:8000/cgi-bin/peer")
    assert served and 62000 <= int(served.split()[2]) <= 62999, f"hairpin SNAT port from the kept range: {served}"
    lb("detach", t.bridge)
    lb.fails("attach", t.bridge, "--uplink", t.uplink, "--flow-table", "512",
             match="saved --syn-table: SYN table size 1024 is larger than the flow table")
    lb("attach", t.bridge, "--uplink", t.uplink, "--flow-table", "8192", "--syn-table", "0")
    assert lb.status()["flow_table_size"] == 8192, "a given size replaces the saved one"
    assert lb.status()["syn_table_size"] == 8192 // 8, "--syn-table 0: the flow table's share again"

    # Addresses that appear later, each followed by the next change command of any kind.
    lb("backend", "add", t.backend(2).ip)
    for i, change in enumerate((("scheduler", "maglev"), ("service", "set", "default", "--proto", "tcp"),
                                ("backend", "drain", t.backend(1).ip), ("backend", "undrain", t.backend(1).ip))):
        extra = f"10.{NET}.1.{120 + i}"
        t.host.addr_add(t.uplink, f"{extra}/24")
        lb(*change)
        got = client.http(t.client, url(extra))
        assert got in {"Served from b1", "Served from b2"}, f"{extra} served after `{' '.join(change)}`: {got}"
