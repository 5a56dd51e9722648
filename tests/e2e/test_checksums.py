"""Replies leave with right checksums in both states a backend's veth hands them to the bridge
in, IPv4 and IPv6, TCP and UDP. The TC reply path writes the reverse NAT straight into the
packet and updates the L4 checksum by the skb's checksum state: CHECKSUM_PARTIAL with the
backend's tx offload on (the default; the field then holds the pseudo-header sum only) or a full
checksum with it off. The uplink's offload is off here, so the host sums the PARTIAL replies in
software on their way out and the client checks every checksum: a wrong one is dropped (the
transfer fails) and counted."""
from lib import client, servers, url

NET = 143


def csum_errors(ns):
    """The namespace's count of TCP, UDP and UDPv6 packets dropped for a bad checksum."""
    total = 0
    lines = ns.run("cat", "/proc/net/snmp").out.splitlines()
    for names, values in zip(lines[::2], lines[1::2]):
        if names.split()[0] in ("Tcp:", "Udp:"):
            total += int(dict(zip(names.split(), values.split()))["InCsumErrors"])
    for line in ns.run("cat", "/proc/net/snmp6").out.splitlines():
        if line.startswith("Udp6InCsumErrors"):
            total += int(line.split()[1])
    return total


def test_replies_keep_right_checksums_whatever_the_backends_offload(e2e):
    t = e2e.topology(backends=1, net=NET, ipv6=True)
    b = t.backends[0]
    big = e2e.big_file(size=2_000_000)
    servers.httpd(e2e, b.ns, b.name, big=big)
    servers.udp_reply(e2e, b.ns, b.name)
    servers.udp_reply(e2e, b.ns, b.name, v6=True)
    client.wait_http(t.host, f"http://[{b.ip6}]/")
    client.wait_udp(t.host, b.ip, 80)
    client.wait_udp(t.host, b.ip6, 80)
    lb = e2e.xdplb(t.host)
    lb("attach", t.bridge, "--uplink", t.uplink)
    lb("backend", "add", b.ip)
    lb("backend", "add", b.ip6)
    t.host.run("ethtool", "-K", t.uplink, "tx", "off")
    before = csum_errors(t.client)
    for offload in ("on", "off"):
        b.ns.run("ethtool", "-K", "eth0", "tx", offload)
        for vip in (t.vip, t.vip6):
            assert client.download(e2e, t.client, url(vip, "/big.bin"), big, timeout=10)[0], \
                f"a 2 MB download from {vip}, backend tx offload {offload}"
            assert client.udp(t.client, vip) == b.name, \
                f"a UDP answer from {vip}, backend tx offload {offload}"
    assert csum_errors(t.client) == before, "packets the client dropped for a bad checksum"
