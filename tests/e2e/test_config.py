"""The declarative config: `apply -f FILE` attaches a bridge and makes it run exactly what the
file says (two services, weights, a backup, a drain), `--dry-run` prints the difference and
changes nothing, the same file twice changes nothing, `export | apply --dry-run -f -` shows no
difference, a change in the file is one transaction, and a file that cannot be applied changes
nothing (errors name file, line and key)."""
import collections
import json
import os

from lib import client, run, url

NET = 93


def topology(e2e):
    t = e2e.web_topology(backends=3, net=NET)
    return t, e2e.xdplb(t.host)


def config(t, web, alt_port=9000, alt_proto="tcp"):
    backends = "\n".join(f"          - address: {b}" for b in web)
    return f"""# the test's cluster
bridges:
  - name: {t.bridge}
    uplinks: [{t.uplink}]
    services:
      - name: web
        port: 8000
        proto: tcp
        scheduler: weighted
        backends:
{backends}
      - name: alt
        port: {alt_port}
        proto: {alt_proto}
        backends:
          - address: {t.backend(3).ip}
"""


def write(e2e, name, text):
    path = e2e.path(name)
    with open(path, "w") as f:
        f.write(text)
    return path


def apply_stdin(lb, text, *args):
    return run([lb.bin, "apply", "-f", "-", *args], ns=lb.ns, env=lb.environ, input=text)


def served(t, port, count, first):
    return client.served_by(client.spread(t.client, url(t.vip, port=port), count, first_port=first))


def test_apply_dry_run_idempotent_export(e2e):
    t, lb = topology(e2e)
    b1, b2 = t.backend(1).ip, t.backend(2).ip
    first = write(e2e, "first.yaml", config(t, [f"{b1}\n            weight: 3", b2]))

    dry = lb("apply", "--dry-run", "-f", first).out
    print(dry)
    assert "+ attach " + t.bridge in dry and "+ service web" in dry and f"+ backend {b1}:80 weight 3" in dry, dry
    assert lb.attached() == [], "a dry run attaches nothing"

    out = lb("apply", "-f", first).out
    print(out)
    assert lb.attached() == [t.bridge]
    web = served(t, 8000, 40, 45001)
    assert set(web) == {"b1", "b2"}, f"web by b1 and b2 only: {dict(web)}"
    assert web["b1"] > web["b2"], f"weight 3 against 1: {dict(web)}"
    assert client.http(t.client, url(t.vip, port=9000)) == "Served from b3", "alt by b3"
    names = sorted(s["name"] for s in lb.json("service", "list"))
    assert names == ["alt", "web"], f"the attach's default service is gone: {names}"

    # The same file again: nothing to do, nothing written.
    state = lb.state(t.bridge)
    again = lb("apply", "-f", first).out
    assert "no difference" in again, again
    assert lb.state(t.bridge) == state, "the second apply changed nothing"

    # What runs, exported, applies as no difference.
    exported = lb("export").out
    print(exported)
    assert f"name: {t.bridge}" in exported and "weight: 3" in exported, exported
    assert apply_stdin(lb, exported, "--dry-run").out.strip() == "no difference"
    assert lb("export", "--bridge", t.bridge).out == exported

    # A change: b2 drained, b1 weight 1, alt moved to 9001. Dry run first: printed, not done.
    ids = {b["address"]: b["id"] for b in lb.status()["backends"]}
    second = write(e2e, "second.yaml",
                   config(t, [b1, f"{b2}\n            drain: true"], alt_port=9001))
    dry = lb("apply", "--dry-run", "-f", second).out
    print(dry)
    for line in (f"~ backend {b1}:80 of service web: weight 3 -> 1",
                 f"~ backend {b2}:80 of service web: drain false -> true",
                 "~ service alt: port 9000 -> 9001"):
        assert line in dry, f"{line!r} in {dry}"
    assert lb.state(t.bridge) == state, "the dry run changed nothing"
    lb("apply", "-f", second)
    after = {b["address"]: b for b in lb.status()["backends"]}
    assert {a: b["id"] for a, b in after.items()} == ids, "backends keep their ids"
    assert after[b2]["drained"] is True
    web = served(t, 8000, 20, 46001)
    assert set(web) == {"b1"}, f"b2 drained: {dict(web)}"
    assert client.http(t.client, url(t.vip, port=9001)) == "Served from b3"
    assert client.http(t.client, url(t.vip, port=9000), timeout=2) is None, "alt left 9000"
    assert apply_stdin(lb, lb("export").out, "--dry-run").out.strip() == "no difference"


def test_a_bad_file_changes_nothing(e2e):
    t, lb = topology(e2e)
    b1, b2 = t.backend(1).ip, t.backend(2).ip
    lb("apply", "-f", write(e2e, "good.yaml", config(t, [b1])))
    state = lb.state(t.bridge)

    typo = config(t, [b2]).replace("scheduler: weighted", "shedular: weighted")
    r = lb.fails("apply", "-f", write(e2e, "typo.yaml", typo), match="typo.yaml:9: unknown key 'shedular'")
    assert "did you mean 'scheduler'" in r.err, r.err
    # Parses, but cannot run: two services on 8000/tcp. The whole change is refused: b2 is not
    # added to web either.
    clash = config(t, [b1, b2], alt_port=8000)
    lb.fails("apply", "-f", write(e2e, "clash.yaml", clash), match="both claim")
    assert lb.state(t.bridge) == state, "nothing changed"
    assert set(served(t, 8000, 10, 47001)) == {"b1"}, "still served as before"
    lb.fails("apply", "-f", e2e.path("missing.yaml"), match="cannot read")


def test_a_file_is_applied_to_every_bridge_or_none(e2e):
    t, lb = topology(e2e)
    b1, b2 = t.backend(1).ip, t.backend(2).ip
    lb("apply", "-f", write(e2e, "one.yaml", config(t, [b1])))
    state = lb.state(t.bridge)
    # A second bridge whose services clash (two on 8000/tcp): attached by the file, then refused.
    br2, up2 = f"{t.prefix}-br2", f"{t.prefix}-up2"
    for name, kind in ((br2, ["bridge"]), (up2, ["veth", "peer", "name", f"{up2}p"])):
        t.host.ip("link", "add", name, "type", *kind)
        e2e.defer(t.host.ip, "link", "del", name, check=False)
        t.host.ip("link", "set", name, "up")
    t.host.addr_add(up2, f"10.{NET}.250.1/24")
    second = config(t, [b1, b2], alt_port=9001) + f"""  - name: {br2}
    uplinks: [{up2}]
    xdp_mode: generic
    services:
      - name: a
        port: 8000
        backends:
          - address: {b1}
      - name: b
        port: 8000
        backends:
          - address: {b2}
"""
    path = write(e2e, "two.yaml", second)
    dry = lb("apply", "--dry-run", "-f", path).out
    assert f"+ attach {br2}" in dry and "~ service alt: port 9000 -> 9001" in dry, dry
    r = lb.fails("apply", "-f", path, match="both claim")
    print(r.err)
    assert f"bridges {t.bridge} are back as they were" in r.err, r.err
    assert lb.attached() == [t.bridge], f"{br2}'s attach undone"
    assert not os.path.exists(os.path.join(lb.state_dir, f"{br2}.json")), "no state left for it"
    assert lb.state(t.bridge) == state, f"{t.bridge}'s state as before"
    assert set(served(t, 8000, 10, 48001)) == {"b1"}, "web as before: b2 not added"
    assert client.http(t.client, url(t.vip, port=9000)) == "Served from b3", "alt still on 9000"

    # The first bridge attached by the same file: detached again.
    lb("detach", t.bridge)
    lb.fails("apply", "-f", path, match="both claim")
    assert lb.attached() == [], "both attaches undone"
    assert lb.state(t.bridge) == state, "the saved state as before"


def test_attach_settings_in_the_file(e2e):
    t, lb = topology(e2e)
    text = config(t, [t.backend(1).ip]).replace(
        "    services:\n", "    flow_table: 4096\n    hairpin_ports: 50000-50999\n    host_local: false\n    services:\n", 1)
    path = write(e2e, "settings.yaml", text)
    lb("apply", "-f", path)
    flows = json.loads(run(["bpftool", "-j", "map", "show", "pinned",
                            os.path.join(lb.pin_root, t.bridge, "flows")]).out)
    assert flows["max_entries"] == 4096, flows
    assert lb.status()["host_local"] is False, "no cgroup hooks"
    st = lb.state(t.bridge)
    assert (st["flow_table"], st["hairpin_ports"], st["host_local"]) == (4096, "50000-50999", False), st
    exported = lb("export").out
    for line in ("flow_table: 4096", 'hairpin_ports: "50000-50999"', "host_local: false"):
        assert line in exported, exported
    assert apply_stdin(lb, exported, "--dry-run").out.strip() == "no difference"
    # Fixed while attached: a file with another flow table is refused, naming what to run.
    lb.fails("apply", "-f", write(e2e, "bigger.yaml", text.replace("4096", "8192")), match=f"xdplb detach {t.bridge}")
    assert lb.state(t.bridge) == st
