"""pytest set-up for the end-to-end tests: the binaries under test, fixture `e2e` (an Env
whose Defer stack runs at teardown, also after a failure, Ctrl-C or SIGTERM), and failure
reports that end with each xdplb's last `status --json`."""
import os
import shutil
import signal
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
pytest.register_assert_rewrite("lib", "pathchecks")

from lib import env as envmod  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def pytest_addoption(parser):
    parser.addoption("--xdplb", default=os.environ.get("XDPLB"),
                     help="the xdplb binary under test (default: $XDPLB, build/controller/cli/xdplb)")
    parser.addoption("--http-load", default=os.environ.get("XDPLB_HTTP_LOAD"),
                     help="the xdplb_http_load binary (default: $XDPLB_HTTP_LOAD, build/tests/e2e/)")


def _binary(config, opt, default):
    path = config.getoption(opt) or os.path.join(REPO, default)
    if not os.access(path, os.X_OK):
        pytest.exit(f"{path}: not an executable; build it or pass --{opt.replace('_', '-')}", 2)
    return os.path.abspath(path)


def _sigterm(signum, frame):
    # ctest's timeout and kill(1) send SIGTERM: unwind like Ctrl-C so teardown runs.
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_sessionstart(session):
    if os.geteuid() != 0:
        pytest.exit("the end-to-end tests run as root (namespaces, BPF)", 2)
    signal.signal(signal.SIGTERM, _sigterm)
    envmod.reap_stale()


@pytest.fixture
def e2e(request):
    cfg = request.config
    load = cfg.getoption("http_load") or os.path.join(REPO, "build/tests/e2e/xdplb_http_load")
    env = envmod.Env(_binary(cfg, "xdplb", "build/controller/cli/xdplb"),
                     load if os.access(load, os.X_OK) else None)
    print(f"prefix {env.prefix}, tmp {env.tmp}")
    request.node._e2e_env = env
    try:
        yield env
    finally:
        env.cleanup()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    env = getattr(item, "_e2e_env", None)
    # Still set up during the call phase's report: the status is the failure's own.
    if rep.when == "call" and rep.failed and env is not None:
        for lb in env.lbs:
            rep.sections.append((f"last xdplb status --json ({lb.ns})", lb.status_text()))


def pytest_report_header(config):
    return [f"python {sys.executable}", f"busybox {shutil.which('busybox')}"]
