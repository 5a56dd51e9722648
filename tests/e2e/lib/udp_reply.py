#!/usr/bin/python3
"""UDP answering server for the end-to-end tests.

  udp_reply.py NAME [--bind ADDR] [--port 80] [--v6] [--peer] [--text TEXT]
answers every datagram with NAME ("b1"), or with "NAME ADDR PORT" (the client address as the
server sees it, IPv6 compressed) with --peer, or with TEXT. --v6 listens on IPv6 only.
"""
import argparse
import ipaddress
import socket

ap = argparse.ArgumentParser()
ap.add_argument("name")
ap.add_argument("--bind", default="")
ap.add_argument("--port", type=int, default=80)
ap.add_argument("--v6", action="store_true")
ap.add_argument("--peer", action="store_true")
ap.add_argument("--text")
a = ap.parse_args()
s = socket.socket(socket.AF_INET6 if a.v6 else socket.AF_INET, socket.SOCK_DGRAM)
if a.v6:
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((a.bind or ("::" if a.v6 else "0.0.0.0"), a.port))
print("ready", flush=True)
while True:
    _, peer = s.recvfrom(65536)
    if a.text is not None:
        answer = a.text
    elif a.peer:
        answer = f"{a.name} {ipaddress.ip_address(peer[0])} {peer[1]}"
    else:
        answer = a.name
    s.sendto((answer + "\n").encode(), peer)
