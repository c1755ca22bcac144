"""Keras-style progress output for ``fit`` (``verbose=1`` / ``2``), ``evaluate`` and ``predict``.

On a terminal (or in Jupyter) ``verbose=1`` redraws one progress line in
place, with Keras's colours; elsewhere it prints only the final line of each
epoch, without control characters, reading exactly as Keras's line renders.
"""

import math
import sys
import time


def _dynamic_display():
    return (hasattr(sys.stdout, "isatty") and sys.stdout.isatty()) or "ipykernel" in sys.modules


def format_value(value, verbose):
    # Keras compares abs(value) in verbose=1 and value itself in verbose=2.
    small = abs(value) <= 1e-3 if verbose == 1 else value <= 1e-3
    return f"{value:.4e}" if small else f"{value:.4f}"


def format_time_per_step(seconds):
    if seconds >= 1 or seconds == 0:
        return f" {seconds:.0f}s/step"
    if seconds >= 1e-3:
        return f" {seconds * 1000.0:.0f}ms/step"
    return f" {seconds * 1000000.0:.0f}us/step"


class Progbar:
    """One progress bar over ``target`` steps (Keras's ``Progbar`` layout, width 20)."""

    def __init__(self, target, verbose=1, width=20, interval=0.05):
        self.target = target
        self.verbose = verbose
        self.width = width
        self.interval = interval
        self._dynamic = _dynamic_display()
        self._start = time.time()
        self._last_update = 0.0
        self._prev_width = 0

    def update(self, current, values=(), finalize=False):
        """Show step ``current`` with ``values`` (pairs of name and number)."""
        now = time.time()
        per_step = (now - self._start) / current if current else 0.0
        if self.verbose == 2:
            if finalize:
                digits = int(math.log10(self.target)) + 1
                line = f"{current:{digits}d}/{self.target} - {now - self._start:.0f}s -"
                line += format_time_per_step(per_step)
                line += "".join(f" - {k}: {format_value(v, 2)}" for k, v in values)
                self._write(line + "\n")
            return
        if not finalize and (not self._dynamic or now - self._last_update < self.interval):
            return
        self._last_update = now
        digits = int(math.log10(self.target)) + 1
        count = f"{current:{digits}d}/{self.target}"
        done = int(self.width * current / self.target)
        if finalize:
            clock = f"{now - self._start:.0f}s"
        else:
            eta = per_step * (self.target - current)
            if eta > 3600:
                clock = "%d:%02d:%02d" % (eta // 3600, (eta % 3600) // 60, eta % 60)
            elif eta > 60:
                clock = "%d:%02d" % (eta // 60, eta % 60)
            else:
                clock = "%ds" % eta
        tail = format_time_per_step(per_step)
        tail += "".join(f" - {k}: {format_value(v, 1)}" for k, v in values)
        if self._dynamic:
            bar = (f"\x1b[1m{count}\x1b[0m " + (f"\x1b[32m{'━' * done}\x1b[0m" if done else "")
                   + f"\x1b[37m{'━' * (self.width - done)}\x1b[0m")
            visible = len(count) + 1 + self.width + 1 + len(clock) + len(tail)
            message = ("\b" * self._prev_width + "\r" + bar + f" \x1b[1m{clock}\x1b[0m" + tail)
            if self._prev_width > visible:
                message += " " * (self._prev_width - visible)
            self._prev_width = visible
        else:
            message = f"{count} {'━' * self.width} {clock}{tail}"
        self._write(message + ("\n" if finalize else ""))

    @staticmethod
    def _write(text):
        sys.stdout.write(text)
        sys.stdout.flush()
