"""Keep-alive HTTP clients for the upgrade test: CONNS persistent HTTP/1.1 connections to
ADDR:PORT, each sending requests back to back for SECONDS. Prints one JSON line at the end:
requests, failures (with reasons), reconnects, and the backends each TCP connection saw (one
that changed backend would show two). Run in the client's namespace."""
import http.client
import json
import sys
import threading
import time

addr, port, conns, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
lock = threading.Lock()
result = {"requests": 0, "failures": [], "reconnects": 0, "backends": []}


def client(k):
    seen, n, fails, reconnects = {}, 0, [], 0
    deadline = time.monotonic() + seconds
    conn = http.client.HTTPConnection(addr, port, timeout=3)
    while time.monotonic() < deadline:
        try:
            conn.request("GET", "/")
            r = conn.getresponse()
            body = r.read().decode().strip()
            # One connection is one local port (nginx closes one after keepalive_requests
            # and http.client opens the next): its backends must stay one.
            local = conn.sock.getsockname()[1] if conn.sock else None
            if r.status != 200:
                fails.append(f"conn {k}: status {r.status}")
            elif local is not None:
                seen.setdefault(local, set()).add(body)
            n += 1
        except Exception as e:  # a reset or timeout: a failed request, then a new connection
            fails.append(f"conn {k} at {seconds - (deadline - time.monotonic()):.2f}s: {e!r}")
            conn.close()
            conn = http.client.HTTPConnection(addr, port, timeout=3)
            reconnects += 1
        time.sleep(0.002)
    conn.close()
    with lock:
        result["requests"] += n
        result["failures"] += fails
        result["reconnects"] += reconnects
        result["backends"] += [sorted(b) for b in seen.values()]


threads = [threading.Thread(target=client, args=(k,)) for k in range(conns)]
for t in threads:
    t.start()
print("started", flush=True)
for t in threads:
    t.join()
print(json.dumps(result), flush=True)
