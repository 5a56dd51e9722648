#!/usr/bin/env python3
"""What a client sees of the address it dialled, for the client-path tests.

  peer_probe.py tcp HOST PORT   connect, print "peer=ADDR:PORT" (getpeername) and the first
                                body line of GET /
  peer_probe.py udp HOST PORT   unconnected sendto, print "from=ADDR:PORT" (recvfrom) and the
                                answer
  peer_probe.py udpc HOST PORT  connected UDP socket: send, then print "refused" if an ICMP
                                port unreachable about the datagram came back (ECONNREFUSED),
                                "answer=..." for an answer, "timeout" for nothing
"""
import socket
import sys


def fmt(addr):
    """ADDR:PORT, [ADDR]:PORT for IPv6 (as URLs and xdplb write them)."""
    return f"[{addr[0]}]:{addr[1]}" if ":" in addr[0] else f"{addr[0]}:{addr[1]}"


def tcp(host, port):
    s = socket.create_connection((host, port), timeout=3)
    peer = s.getpeername()
    s.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    body = data.split(b"\r\n\r\n", 1)[-1].decode(errors="replace").strip()
    print(f"peer={fmt(peer)} body={body}")


def udp(host, port):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.sendto(b"ping\n", (host, port))
    data, addr = s.recvfrom(2048)
    print(f"from={fmt(addr)} body={data.decode(errors='replace').strip()}")


def udpc(host, port):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.connect((host, port))
    s.send(b"ping\n")
    try:
        print(f"answer={s.recv(2048).decode(errors='replace').strip()}")
    except ConnectionRefusedError:
        print("refused")
    except socket.timeout:
        print("timeout")


if __name__ == "__main__":
    {"tcp": tcp, "udp": udp, "udpc": udpc}[sys.argv[1]](sys.argv[2], int(sys.argv[3]))
