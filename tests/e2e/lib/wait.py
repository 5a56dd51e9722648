"""wait_until: a bounded poll that says what it waited for and what it saw last."""
import time


class WaitTimeout(AssertionError):
    pass


def wait_until(observe, timeout, what, ok=bool, interval=0.1):
    """Calls observe() until ok(value) holds; returns that value.

    After timeout seconds raises WaitTimeout naming `what` and the last value seen (or the
    last exception observe raised). observe runs at least once, even with timeout 0."""
    deadline = time.monotonic() + timeout
    seen = "(nothing yet)"
    while True:
        try:
            value = observe()
            if ok(value):
                return value
            seen = repr(value)
        except Exception as e:  # noqa: BLE001 - a failing observation is a "not yet"
            seen = f"{type(e).__name__}: {e}"
        if time.monotonic() >= deadline:
            if len(seen) > 800:
                seen = "..." + seen[-800:]
            raise WaitTimeout(f"timed out after {timeout} s waiting for {what}; last seen: {seen}")
        time.sleep(interval)
