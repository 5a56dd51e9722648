"""Backend servers in namespaces: busybox httpd, nginx, UDP answers. Each is a Proc that the
test's Defer stops; wait for it with client.wait_http / client.wait_udp."""
import os

from .cmd import spawn

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"

# busybox httpd listens on an IPv6 socket: REMOTE_ADDR is [::ffff:a.b.c.d] or [fd..::2].
_ADDR = 'a=${REMOTE_ADDR#[}; a=${a#::ffff:}; a=${a%%]}'
_PEER = ('#!/bin/sh\n' + _ADDR + '\nprintf "Content-Type: text/plain\\r\\n\\r\\n"\n'
         'echo "@NAME@ $a $REMOTE_PORT"\n')
# /cgi-bin/slow?S holds its connection S seconds (0-19, default 2), then answers like peer.
_SLOW = ('#!/bin/sh\n' + _ADDR + '\ns=${QUERY_STRING:-2}\ncase $s in [0-9]|1[0-9]) ;; *) s=2 ;; esac\n'
         'sleep "$s"\nprintf "Content-Type: text/plain\\r\\n\\r\\n"\necho "@NAME@ $a $REMOTE_PORT"\n')


def _write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def www_dir(env, name, big=None):
    """A document root naming the server: / says "Served from NAME"; /cgi-bin/peer answers
    "NAME ADDR PORT" (the client as the server sees it); /cgi-bin/slow?S the same after S
    seconds; /big.bin is a hard link to big (a file from env.big_file) if given."""
    www = env.path(f"www-{name}")
    os.makedirs(os.path.join(www, "cgi-bin"), exist_ok=True)
    _write(os.path.join(www, "index.html"), f"Served from {name}\n")
    _write(os.path.join(www, "cgi-bin", "peer"), _PEER.replace("@NAME@", name), 0o755)
    _write(os.path.join(www, "cgi-bin", "slow"), _SLOW.replace("@NAME@", name), 0o755)
    if big:
        dst = os.path.join(www, "big.bin")
        if not os.path.exists(dst):
            os.link(big, dst)
    return www


def httpd(env, ns, name, port=80, bind=None, big=None, www=None):
    """busybox httpd in ns on [bind:]port serving www_dir(name)."""
    www = www or www_dir(env, name, big)
    listen = f"{bind}:{port}" if bind else str(port)
    return spawn(["busybox", "httpd", "-f", "-p", listen, "-h", www],
                 env.path(f"httpd-{name}-{port}.log"), ns=ns, defer=env.defer)


def udp_reply(env, ns, name, port=80, v6=False, peer=False, bind=None, text=None):
    """A UDP server answering each datagram with name, "name addr port" (peer) or text."""
    args = [PYTHON, os.path.join(HERE, "udp_reply.py"), name, "--port", port]
    args += ["--v6"] * v6 + ["--peer"] * peer
    args += ["--bind", bind] if bind else []
    args += ["--text", text] if text is not None else []
    return spawn(args, env.path(f"udp-{name}-{port}{'-6' if v6 else ''}.log"), ns=ns,
                 defer=env.defer)


def nginx_conf(directory, http_body):
    """A foreground, single-process nginx config in directory (no files outside it)."""
    os.makedirs(directory, exist_ok=True)
    d = directory
    conf = f"""daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {d}; proxy_temp_path {d}; fastcgi_temp_path {d}; uwsgi_temp_path {d}; scgi_temp_path {d};
  {http_body}
}}
"""
    path = os.path.join(d, "nginx.conf")
    _write(path, conf)
    return path


def nginx(env, ns, name, port=80):
    """nginx (one process: kill -9 takes the whole server) serving "Served from NAME"."""
    d = env.path(f"nginx-{name}")
    os.makedirs(os.path.join(d, "www"), exist_ok=True)
    _write(os.path.join(d, "www", "index.html"), f"Served from {name}\n")
    conf = nginx_conf(d, f"server {{ listen {port} backlog=4096; root {d}/www; }}")
    return spawn(["nginx", "-c", conf], env.path(f"nginx-{name}.log"), ns=ns, defer=env.defer)
