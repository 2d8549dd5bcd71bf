"""The one progress helper of the long commands (verify/console/progress.py), on a fake clock.

Plain mode (a log, a pipe): a line when an item starts, its row when it finishes, and a
heartbeat line after ``heartbeat`` seconds of silence, never before.  Terminal mode: one status
line redrawn in place.  The estimate: the running item's rest from its own done/total plus the
mean of the finished items for each one still waiting; none when there is no basis.
"""

from __future__ import annotations

import io

from verify.console.progress import Progress, duration


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def _progress(tty=False, total=3):
    clock, out = Clock(), io.StringIO()
    return Progress("verify test", total, unit="case", stream=out, tty=tty, heartbeat=20.0, clock=clock), clock, out


def test_plain_lines_start_row_and_a_heartbeat_only_after_a_silence():
    p, clock, out = _progress()
    p.start("first")
    assert out.getvalue() == "[1/3] first ...\n", "the start is visible at once"
    clock.t = 19.0
    p._tick()
    assert "still running" not in out.getvalue(), "no heartbeat before 20 s of silence"
    clock.t = 21.0
    p._tick()
    assert out.getvalue().splitlines()[-1] == "  still running: [1/3] first, 21 s elapsed"
    p.finish("  first: done")
    assert out.getvalue().splitlines()[-1] == "  first: done"
    assert "\r" not in out.getvalue()
    p.close()


def test_the_estimate_uses_the_items_own_progress_and_the_mean_of_finished_ones():
    p, clock, _ = _progress()
    p.start("a")
    assert p.remaining() is None, "no basis yet"
    clock.t = 10.0
    p.finish()
    p.start("b")
    p.update(1, 4, "part")
    clock.t = 40.0  # 30 s for 1 of 4 parts: 90 s to go, then one item of mean 10 s
    assert p.remaining() == 100.0
    assert p.status() == "[2/3] b, part (1 of 4), 40 s elapsed, about 1 min 40 s left"
    assert p.item_estimate() == 120.0
    p.update(1, None, "no total")  # the control: an item that reports no total gives no estimate of itself
    assert p.remaining() is None and "then about 10 s for the 1 after it" in p.status()
    p.close()


def test_on_a_terminal_one_status_line_is_redrawn_and_rows_go_above_it():
    p, clock, out = _progress(tty=True)
    p.start("first")
    p.update(2, 5, "step")
    p.finish("  first: done")
    text = out.getvalue()
    assert text.startswith("\r[1/3] first") and "\r[1/3] first, step (2 of 5)" in text
    assert "\r\x1b[K  first: done\n" in text
    p.close()
    assert out.getvalue().endswith("\r\x1b[K") or out.getvalue().endswith("\n")


def test_durations_read_as_a_person_would_say_them():
    assert [duration(s) for s in (2.34, 42, 185, 4000)] == ["2.3 s", "42 s", "3 min 05 s", "1 h 06 min"]
