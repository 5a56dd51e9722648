#!/usr/bin/env python3
"""Which connections reached a backend: run in the backend's namespace, it records every TCP
SYN that arrives on IFACE for PORT and every RST the backend sends from PORT, one line each:

  <epoch ms> S <client port>    a SYN (no ACK) arrived
  <epoch ms> R <client port>    the backend sent an RST

until SECONDS have passed (bounded) or it is killed.

  tcp_log.py IFACE PORT SECONDS OUT
"""
import select
import socket
import struct
import sys
import time

ETH_P_IP = 0x0800
PACKET_OUTGOING = 4


def main(iface, port, seconds, out):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
    s.bind((iface, 0))
    end = time.monotonic() + seconds
    with open(out, "w", buffering=1) as f:
        print("ready", flush=True)
        while time.monotonic() < end:
            r, _, _ = select.select([s], [], [], 0.5)
            if not r:
                continue
            frame, addr = s.recvfrom(256)
            ip = frame[14:]
            if len(ip) < 20 or ip[9] != socket.IPPROTO_TCP:
                continue
            tcp = ip[(ip[0] & 0x0F) * 4:]
            if len(tcp) < 14:
                continue
            sport, dport = struct.unpack("!HH", tcp[:4])
            flags = tcp[13]
            now = int(time.time() * 1000)
            if addr[2] != PACKET_OUTGOING and dport == port and flags & 0x02 and not flags & 0x10:
                f.write(f"{now} S {sport}\n")
            elif addr[2] == PACKET_OUTGOING and sport == port and flags & 0x04:
                f.write(f"{now} R {dport}\n")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4])
