"""A second xdplb built from an older source state (a commit of another ABI version), for the
upgrade tests: `git archive` of the commit into a directory, configured and built (target xdplb
only, ccache when it is installed) next to the build under test. The result is kept, keyed by
the commit: the first run builds, later runs reuse the binary."""
import os
import shutil
import subprocess
import tarfile
import io

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def abi_version_of(text):
    for line in text.splitlines():
        if line.startswith("#define XDPLB_ABI_VERSION "):
            return int(line.split()[2])
    raise AssertionError("no XDPLB_ABI_VERSION in abi.h")


def _git(*args):
    p = subprocess.run(["git", "-C", REPO, *args], capture_output=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {p.stderr.decode(errors='replace')}"
                             " (the upgrade test builds an older commit: it needs the repository's"
                             " history, not a shallow clone)")
    return p.stdout


def old_xdplb(commit, root, timeout=900):
    """The xdplb binary of `commit`, built under root/<commit>; returns (path, its ABI version).
    Raises AssertionError (with the build's log tail) if it cannot be built."""
    full = _git("rev-parse", "--verify", commit + "^{commit}").decode().strip()
    version = abi_version_of(_git("show", f"{full}:include/xdplb/abi.h").decode())
    top = os.path.join(root, full[:12])
    binary = os.path.join(top, "build", "controller", "cli", "xdplb")
    if os.access(binary, os.X_OK):
        return binary, version
    src = os.path.join(top, "src")
    if not os.path.exists(os.path.join(top, "extracted")):  # else a build that stopped half-way goes on
        shutil.rmtree(top, ignore_errors=True)
        os.makedirs(src)
        with tarfile.open(fileobj=io.BytesIO(_git("archive", "--format=tar", full))) as tar:
            tar.extractall(src)
        open(os.path.join(top, "extracted"), "w").close()
    launcher = []
    if shutil.which("ccache"):
        launcher = ["-DCMAKE_CXX_COMPILER_LAUNCHER=ccache", "-DCMAKE_C_COMPILER_LAUNCHER=ccache"]
    log = os.path.join(top, "build.log")
    # Paths relative to the tree in ccache's hash: another build dir of the same commit hits.
    env = dict(os.environ, CCACHE_BASEDIR=top, CCACHE_NOHASHDIR="1")
    with open(log, "w") as out:
        for args in (["cmake", "-S", src, "-B", os.path.join(top, "build"), "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
                      *launcher],
                     ["cmake", "--build", os.path.join(top, "build"), "-j2", "--target", "xdplb"]):
            p = subprocess.run(args, stdout=out, stderr=subprocess.STDOUT, timeout=timeout, env=env)
            if p.returncode != 0:
                with open(log) as f:
                    tail = f.read()[-3000:]
                raise AssertionError(f"building xdplb of {full[:12]} failed: {' '.join(args)}\n{tail}")
    if not os.access(binary, os.X_OK):
        raise AssertionError(f"building xdplb of {full[:12]} made no {binary}")
    return binary, version
