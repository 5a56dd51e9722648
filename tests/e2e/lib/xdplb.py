"""The xdplb CLI under test, run in the test's host namespace with its own pin root and state
dir (XDPLB_PIN_ROOT, XDPLB_STATE_DIR), `--json` output parsed into dicts."""
import json
import os
import shutil

from .cmd import run, run_fails, spawn


class Xdplb:
    def __init__(self, env, ns):
        self.env = env
        self.ns = ns
        self.bin = env.xdplb_bin
        self.pin_root = f"/sys/fs/bpf/xdplb-e2e-{env.prefix}"
        self.state_dir = env.path("state")
        self.environ = dict(os.environ, XDPLB_PIN_ROOT=self.pin_root,
                            XDPLB_STATE_DIR=self.state_dir)
        env.defer(self._cleanup)

    def __call__(self, *args, check=True, timeout=60):
        """Runs `xdplb ARGS...`; raises CmdError (command + output) if it fails."""
        return run([self.bin, *args], ns=self.ns, check=check, timeout=timeout, env=self.environ)

    def fails(self, *args, match=None):
        """`xdplb ARGS...` must fail saying something matching the regex match."""
        return run_fails([self.bin, *args], match=match, ns=self.ns, env=self.environ)

    def json(self, *args):
        return json.loads(self(*args, "--json").out)

    def status(self):
        """`xdplb status --json` as a dict."""
        return self.json("status")

    def backend(self, address, status=None):
        """The status entry of the backend with this address (None if there is none)."""
        status = status or self.status()
        return next((b for b in status["backends"] if b["address"] == address), None)

    def state(self, bridge):
        """The saved state of bridge (STATE_DIR/BRIDGE.json) as a dict."""
        with open(os.path.join(self.state_dir, f"{bridge}.json")) as f:
            return json.load(f)

    def attached(self):
        """Bridges with pins under this pin root."""
        try:
            return sorted(os.listdir(self.pin_root))
        except FileNotFoundError:
            return []

    def daemon(self, log, *args):
        """`xdplb daemon --foreground ARGS` in the background (a Proc), output to log."""
        return spawn([self.bin, "daemon", "--foreground", *args], log, ns=self.ns,
                     defer=self.env.defer, env=self.environ)

    def status_text(self):
        """The last `xdplb status --json` for a failure report; never raises."""
        if not self.attached():
            return f"(nothing attached under {self.pin_root})"
        r = self("status", "--json", check=False, timeout=20)
        return r.out if r.ok else f"(exit {r.rc}) {r.err.strip()}"

    def _cleanup(self):
        # Detach first: its cgroup hooks sit on the machine's cgroup root. Removing the pins
        # takes whatever a failed detach left.
        for br in self.attached():
            self("detach", br, check=False, timeout=30)
        shutil.rmtree(self.pin_root, ignore_errors=True)
