"""Deferred cleanup: a stack of undo steps, run last-in first-out, each step on its own.

A step that fails does not stop the ones after it; the errors are raised together at the end.
"""
import traceback


class Defer:
    def __init__(self):
        self._steps = []

    def __call__(self, fn, *args, **kwargs):
        """Remembers fn(*args, **kwargs) to run at cleanup; returns fn."""
        self._steps.append((fn, args, kwargs))
        return fn

    def run(self):
        errors = []
        while self._steps:
            fn, args, kwargs = self._steps.pop()
            try:
                fn(*args, **kwargs)
            except BaseException as e:  # keep cleaning up, even after Ctrl-C
                errors.append(f"cleanup {getattr(fn, '__qualname__', fn)}{args}: "
                              f"{''.join(traceback.format_exception_only(e)).strip()}")
        if errors:
            raise RuntimeError("\n".join(errors))
