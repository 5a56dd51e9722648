"""Long-lived TCP connections for the scale-out test.

serve NAME PORT            answers each line it reads with "NAME\\n" (a backend).
clients ADDR PORT CONNS SECONDS
                           CONNS connections held for SECONDS, each sending a line every 100 ms
                           and reading the answer; meanwhile a new connection every 20 ms
                           (one line, one answer, close). Prints "started", then one JSON line:
                           per held connection the backends that answered it (in order) and
                           when and how it broke, if it did; the new connections' count and
                           failures (each with its wall-clock time).
"""
import json
import socket
import socketserver
import sys
import threading
import time


def serve(name, port):
    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            for _ in self.rfile:
                self.wfile.write(f"{name}\n".encode())

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

    Server(("0.0.0.0", port), Handler).serve_forever()


def ask(f, sock):
    sock.sendall(b"x\n")
    line = f.readline()
    if not line:
        raise ConnectionError("closed by the peer")
    return line.decode().strip()


def clients(addr, port, conns, seconds):
    deadline = time.monotonic() + seconds
    held, lock = [], threading.Lock()
    new = {"total": 0, "failures": []}

    def hold(k):
        rec = {"seen": [], "broken": None}
        try:
            s = socket.create_connection((addr, port), timeout=3)
            f = s.makefile("rb")
            while time.monotonic() < deadline:
                name = ask(f, s)
                if not rec["seen"] or rec["seen"][-1] != name:
                    rec["seen"].append(name)
                time.sleep(0.1)
            s.close()
        except Exception as e:
            rec["broken"] = {"at": time.time(), "why": repr(e)}
        with lock:
            held.append(rec)

    def churn():
        while time.monotonic() < deadline:
            t = time.time()
            try:
                with socket.create_connection((addr, port), timeout=2) as s:
                    ask(s.makefile("rb"), s)
            except Exception as e:
                with lock:
                    new["failures"].append({"at": t, "why": repr(e)})
            with lock:
                new["total"] += 1
            time.sleep(0.02)

    threads = [threading.Thread(target=hold, args=(k,)) for k in range(conns)]
    threads.append(threading.Thread(target=churn))
    for t in threads:
        t.start()
        time.sleep(0.01)
    print("started", flush=True)
    for t in threads:
        t.join()
    print(json.dumps({"held": held, "new": new}), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]))
    else:
        clients(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
