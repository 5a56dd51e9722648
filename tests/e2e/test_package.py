"""The Debian package: built with cpack from this build dir, installed with dpkg -i; the
installed binary reports the build's version, `man -w xdplb` finds xdplb(8) with every
subcommand's help, postinst enabled the unit (deb-systemd-helper, no systemd running), the completion
completes, the unit verifies, a namespace scenario runs with /usr/sbin/xdplb; `dpkg --purge`
then leaves no file behind (file lists before and after). The purge runs also on failure."""
import os
import subprocess

import pytest

from lib import client, run, url

NET = 95
BUILD = os.environ.get("XDPLB_BUILD_DIR", "")
INSTALLED = "/usr/sbin/xdplb"
# Where a package puts files (and where a leftover would be).
WATCHED = ["/usr/sbin", "/usr/bin", "/usr/share/man/man8", "/usr/share/bash-completion/completions",
           "/usr/share/doc", "/usr/lib/systemd/system", "/lib/systemd/system", "/etc", "/var/lib/xdplb",
           "/var/lib/systemd/deb-systemd-helper-enabled", "/var/lib/systemd/deb-systemd-helper-masked"]
WANTS = "/etc/systemd/system/multi-user.target.wants/xdplb.service"


def files():
    out = set()
    for top in WATCHED:
        for root, dirs, names in os.walk(top):
            out.add(root)
            out.update(os.path.join(root, n) for n in names)
    return out


def sh(*args, timeout=120):
    r = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"{' '.join(args)}: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r.stdout


def test_package_installs_runs_and_purges_clean(e2e):
    if not BUILD:
        pytest.fail("XDPLB_BUILD_DIR: the build dir to package (ctest sets it)")
    if subprocess.run(["dpkg", "-s", "xdplb"], capture_output=True).returncode == 0:
        pytest.fail("an xdplb package is installed on this machine already: not touching it")
    before = files()
    out = sh("cpack", "-G", "DEB", "-B", os.path.join(e2e.tmp, "deb"), "--config", os.path.join(BUILD, "CPackConfig.cmake"),
             timeout=900)
    debs = [f for f in os.listdir(os.path.join(e2e.tmp, "deb")) if f.endswith(".deb")]
    assert len(debs) == 1, out
    deb = os.path.join(e2e.tmp, "deb", debs[0])
    print(sh("dpkg-deb", "-I", deb))
    depends = sh("dpkg-deb", "-f", deb, "Depends")
    for lib in ("liblxc1", "libsystemd0"):  # dlopen()ed at the first use: shlibdeps cannot see them
        assert lib in depends, depends

    e2e.defer(lambda: subprocess.run(["dpkg", "--purge", "xdplb"], capture_output=True, timeout=120))
    sh("dpkg", "-i", deb)
    assert sh(INSTALLED, "--version") == sh(e2e.xdplb_bin, "--version"), "the build's version"
    # The package's page (-M: scripts/test.sh's `cmake --install` may have put one in /usr/local
    # too, which man would find first).
    assert sh("man", "-M", "/usr/share/man", "-w", "xdplb").strip() == "/usr/share/man/man8/xdplb.8.gz"
    page = sh("man", "-M", "/usr/share/man", "-P", "cat", "8", "xdplb")
    for command in ("apply", "service add", "backend add", "import lxd", "--hairpin-ports"):
        assert command in page.replace("\u2010", "-"), f"xdplb(8) has the help of {command!r}"
    # postinst enabled the unit the Debian way (deb-systemd-helper), though systemd is not PID 1.
    # Enablement is by name: the link points at the unit systemd would load, which is a copy in
    # /usr/local/lib/systemd/system if scripts/test.sh's `cmake --install` put one there.
    assert os.path.realpath(WANTS) in (os.path.realpath(u) for u in (
        "/usr/lib/systemd/system/xdplb.service", "/usr/local/lib/systemd/system/xdplb.service")), WANTS
    assert os.path.exists(os.readlink(WANTS)), WANTS
    assert "/usr/lib/systemd/system/xdplb.service" in sh("dpkg", "-L", "xdplb").split("\n")
    assert os.path.exists("/var/lib/systemd/deb-systemd-helper-enabled/xdplb.service.dsh-also"), \
        "deb-systemd-helper's record of the enablement"
    completed = sh("bash", "-c", "source /usr/share/bash-completion/bash_completion; "
                   "source /usr/share/bash-completion/completions/xdplb; "
                   "COMP_WORDS=(xdplb imp); COMP_CWORD=1; COMP_LINE='xdplb imp'; COMP_POINT=9; _xdplb; "
                   "echo ${COMPREPLY[@]}; COMP_WORDS=(xdplb import n); COMP_CWORD=2; COMP_LINE='xdplb import n'; COMP_POINT=14; "
                   "_xdplb; echo ${COMPREPLY[@]}")
    assert completed.split("\n")[:2] == ["import", "nginx"], completed
    sh("systemd-analyze", "verify", "/usr/lib/systemd/system/xdplb.service")
    with open("/etc/xdplb/xdplb.yaml") as f:
        default = f.read()
    assert "bridges:" in default and all(l.startswith("#") or not l.strip() for l in default.splitlines()), \
        "the default config is all comments"
    conffiles = sh("dpkg-query", "-W", "-f=${Conffiles}", "xdplb")
    assert "/etc/xdplb/xdplb.yaml" in conffiles, conffiles

    # A namespace scenario with the installed binary.
    t = e2e.web_topology(backends=2, net=NET)
    lb = e2e.xdplb(t.host)
    lb.bin = INSTALLED
    cfg = e2e.path("x.yaml")
    with open(cfg, "w") as f:
        f.write(f"bridges:\n  - name: {t.bridge}\n    uplinks: [{t.uplink}]\n    services:\n"
                f"      - name: web\n        port: 8000\n        proto: tcp\n        backends:\n"
                f"          - address: {t.backend(1).ip}\n          - address: {t.backend(2).ip}\n")
    lb("apply", "-f", cfg)
    got = client.served_by(client.spread(t.client, url(t.vip), 20, first_port=50001))
    assert set(got) == {"b1", "b2"}, dict(got)
    lb("detach", t.bridge, "--forget")

    sh("dpkg", "--purge", "xdplb")
    after = files()
    assert sorted(after - before) == [], "files the purge left behind"
    assert sorted(before - after) == [], "files the package took away"
