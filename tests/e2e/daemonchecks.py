"""What both daemon tests (namespaces, LXD) share: the load settings, the report."""
import os

DURATION = int(os.environ.get("XDM_DURATION", "20"))  # seconds of load per scenario


def rate(default):
    """Requests/s offered (XDM_RATE overrides)."""
    return int(os.environ.get("XDM_RATE", str(default)))


def report(e2e, line):
    """A figure line: printed, and appended to XDM_REPORT (default: the test's tmp)."""
    print(line)
    with open(os.environ.get("XDM_REPORT", e2e.path("report.txt")), "a") as f:
        f.write(line + "\n")


def ms(t):
    return "?" if t is None else str(t)
