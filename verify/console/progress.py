"""Progress of a long command: what runs, i of N, elapsed time, an estimate; rows as they finish.

One helper for every command that can take more than a few seconds (``verify report``,
``verify selfcheck``, ``verify gate``, ``verify explore``).  It writes to stderr, so the
table and the JSON on stdout stay clean, and it is visible at once:

* on a terminal: one status line, redrawn every second (so the elapsed time keeps moving
  even inside one long computation), with the finished rows printed above it;
* anywhere else (a pipe, a CI log): plain lines only -- one when an item starts, the row
  when it finishes, and a heartbeat line when nothing was printed for ``heartbeat``
  seconds, so a log never falls silent and never fills with carriage returns.

Usage::

    with Progress("verify report", total=len(claims), unit="claim") as progress:
        for claim in claims:
            progress.start(claim.id)
            result = claim(progress=progress.update)   # update(done, total, label)
            progress.finish(row_text)

The estimate: the running item's remaining time from its own ``done/total`` (when it
reports one), plus the mean time of the finished items for each item not yet started.
It is labelled "about" and left out when nothing is known yet.

Written with the standard library only.  tqdm draws one bar per loop and has nothing for
plain logs (it is either silent or writes carriage returns); rich would add a dependency
for the same one status line.  Neither gives the heartbeat a CI log needs.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time

__all__ = ["Progress", "duration"]

#: how often the terminal status line is redrawn (seconds)
_REDRAW = 1.0


def duration(seconds: float) -> str:
    """A short human duration: '8.2 s', '42 s', '3 min 05 s', '1 h 07 min'."""
    s = max(0.0, float(seconds))
    if s < 10:
        return f"{s:.1f} s"
    if s < 60:
        return f"{s:.0f} s"
    if s < 3600:
        m, r = divmod(int(round(s)), 60)
        return f"{m} min {r:02d} s"
    h, r = divmod(int(round(s)), 3600)
    return f"{h} h {r // 60:02d} min"


class Progress:
    """Progress of ``total`` items of a command on ``stream`` (stderr by default); see the module doc.

    ``tty``: draw a redrawn status line (default: whether ``stream`` is a terminal);
    ``heartbeat``: in plain mode, the longest silence (seconds) before a "still running" line;
    ``clock``: a monotonic clock (tests pass a fake one).
    """

    def __init__(self, command: str, total: int, *, unit: str = "item", stream=None, tty: bool | None = None,
                 heartbeat: float = 20.0, clock=time.monotonic):
        self.command = command
        self.total = int(total)
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        if tty is None:
            isatty = getattr(self.stream, "isatty", None)
            tty = bool(isatty and isatty())
        self.tty = tty
        self.heartbeat = float(heartbeat)
        self.clock = clock
        self.begun = clock()
        self.index = 0  # the running item is number index (1-based); 0 before the first
        self.name = ""
        self.item_begun = self.begun
        self.inner: tuple[float, float | None, str] | None = None  # (done, total, label) of the running item
        self.finished: list[float] = []  # seconds of each finished item
        self._last_line = self.begun  # when a plain line was last written
        self._shown = ""  # the status text on screen (terminal mode)
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread = None

    # -- the items ------------------------------------------------------------------------
    def start(self, name: str) -> None:
        """Item ``name`` (the next of ``total``) starts running."""
        with self._lock:
            self._ensure_ticking()
            self.index += 1
            self.name = name
            self.item_begun = self.clock()
            self.inner = None
            if self.tty:
                self._draw()
            else:
                self._line(f"{self._counter()} {name} ...")

    def update(self, done, total=None, label: str = "") -> None:
        """The running item reached ``done`` of ``total`` (``label``: what it is doing now).

        Has the signature of a claim's ``progress(done, total, label)`` callback."""
        with self._lock:
            self.inner = (float(done), None if total is None else float(total), str(label))
            if self.tty:
                self._draw()

    def finish(self, row: str = "") -> None:
        """The running item finished; ``row`` (its result, one or more lines) is printed."""
        with self._lock:
            self.finished.append(self.clock() - self.item_begun)
            self.inner = None
            self.name = ""
            if row:
                self.write(row)
            elif self.tty:
                self._draw()

    def write(self, text: str) -> None:
        """Print ``text`` (lines) above the status line."""
        with self._lock:
            if self.tty:
                self._clear()
                self.stream.write(text.rstrip("\n") + "\n")
                self._draw()
            else:
                self._line(text.rstrip("\n"))

    def emit(self, text: str, stream=None) -> None:
        """Print ``text`` to ``stream`` (stdout by default: a table row of the command's own output),
        with the status line moved out of its way on a terminal."""
        stream = sys.stdout if stream is None else stream
        with self._lock:
            if self.tty:
                self._clear()
                self.stream.flush()
            stream.write(text.rstrip("\n") + "\n")
            stream.flush()
            if self.tty and self.name:
                self._draw()

    def close(self) -> None:
        """Stop the redraw/heartbeat thread and remove the status line."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2 * _REDRAW)
            self._thread = None
        with self._lock:
            if self.tty:
                self._clear()
            self.stream.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # -- what is shown --------------------------------------------------------------------
    def status(self) -> str:
        """One line: what runs, i of N, elapsed, an estimate of what is left."""
        now = self.clock()
        parts = [f"{self._counter()} {self.name}" if self.name else f"{self.command}: {len(self.finished)} of "
                 f"{self.total} {self.unit}(s) done"]
        if self.name and self.inner is not None:
            done, total, label = self.inner
            what = f"{label} " if label else ""
            parts.append(f"{what}({_count(done)} of {_count(total)})" if total else (label or _count(done)))
        parts.append(f"{duration(now - self.begun)} elapsed")
        this, later = self._rest_of_item(now), self._rest_after_item()
        if this is not None and later is not None:
            parts.append(f"about {duration(this + later)} left")
        elif this is not None:
            parts.append(f"about {duration(this)} left in this {self.unit}")
        elif later:  # the running item reports no progress: say only what follows it
            waiting = self.total - self.index
            parts.append(f"this {self.unit} {duration(now - self.item_begun)} so far, then about {duration(later)} "
                         f"for the {waiting} after it")
        return ", ".join(p for p in parts if p)

    def remaining(self, now: float | None = None) -> float | None:
        """Seconds left: the running item's rest (from its own done/total) plus, for each item not yet
        started, the mean time of the finished ones; None when either part has no basis."""
        now = self.clock() if now is None else now
        this = self._rest_of_item(now) if self.name else 0.0
        later = self._rest_after_item()
        return None if this is None or later is None else this + later

    def _rest_of_item(self, now: float) -> float | None:
        whole = self.item_estimate(now)
        return None if whole is None else max(whole - (now - self.item_begun), 0.0)

    def _rest_after_item(self) -> float | None:
        waiting = self.total - self.index
        if waiting <= 0:
            return 0.0
        if not self.finished:
            return None
        return waiting * sum(self.finished) / len(self.finished)

    def item_estimate(self, now: float | None = None) -> float | None:
        """Estimated total seconds of the running item, from the share of it done (None: unknown)."""
        now = self.clock() if now is None else now
        if not self.name or self.inner is None or not self.inner[1] or self.inner[0] <= 0:
            return None
        done, total, _ = self.inner
        return (now - self.item_begun) * total / done

    def _counter(self) -> str:
        return f"[{self.index}/{self.total}]"

    # -- terminal and plain output --------------------------------------------------------
    def _draw(self) -> None:
        width = shutil.get_terminal_size((100, 24)).columns - 1
        text = self.status()
        if len(text) > width:
            text = text[: max(0, width - 3)] + "..."
        self.stream.write("\r" + text + "\x1b[K")
        self.stream.flush()
        self._shown = text

    def _clear(self) -> None:
        if self._shown:
            self.stream.write("\r\x1b[K")
            self._shown = ""

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()
        self._last_line = self.clock()

    def _tick(self) -> None:
        """Redraw the status line (terminal), or print a heartbeat after a silence (plain)."""
        with self._lock:
            if self.tty:
                if self.name:
                    self._draw()
            elif self.name and self.clock() - self._last_line >= self.heartbeat:
                self._line("  still running: " + self.status())

    def _ensure_ticking(self) -> None:
        if self._thread is not None:
            return
        period = _REDRAW if self.tty else min(_REDRAW * 5, self.heartbeat / 4)

        def loop():
            while not self._stop.wait(period):
                self._tick()

        self._thread = threading.Thread(target=loop, name="verify-progress", daemon=True)
        self._thread.start()


def _count(x) -> str:
    if x is None:
        return "?"
    return str(int(x)) if float(x).is_integer() else f"{x:g}"
