"""``verify report`` run on fake claims: fast, and independent of the real claims.

Each test installs a handful of fake claims in place of ``verify.claims.all_claims``
and calls ``verify.cli.main`` as the command line would.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import mpmath
import numpy as np
import pytest

import verify
import verify.claims
from verify.claims import CLAIM_IDS, all_claims
from verify.claims.base import Claim, ClaimResult, Finding
from verify.cli import main

REPO = Path(__file__).resolve().parents[1]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ROW = re.compile(r"^(?P<id>\S+)\s+(?P<verdict>HOLDS|FAILS|INCONCLUSIVE|ERROR)\s+(?P<seconds>\d+\.\d\d)\b")

SEEN = []  # (claim id, budget, seed) of every fake run


def _third_at_40_digits():
    with mpmath.workdps(40):
        return mpmath.mpf(1) / 3


def _draw(path):
    from verify.claims.figures import loglog_with_slopes

    tau = np.arange(1.0, 200.0)
    loglog_with_slopes(path, tau, 1 / tau, xlabel="tau", ylabel="L", title="a fake loss", predicted_slope=-1.0)


def _holds(budget, seed, progress):
    SEEN.append(("fake-holds", budget, seed))
    for k in range(3):
        progress(k + 1, 3, "inner loop")
    time.sleep(0.02)  # a non-zero time, so the rounding of seconds is exercised
    evidence = {
        "gap": np.float64(1.5e-14),
        "count": np.int64(12),
        "ratios": np.array([0.5, 0.25]),
        "third": _third_at_40_digits(),
        "overflow": float("inf"),
        "undefined": np.float32("nan"),
        "big": 2**80,
        "nested": {"n": 3, "values": [1.0, 2.0]},
    }
    findings = [Finding("gap exponent", -2.0, 0.05, "tau in [10, 100]", "gap ~ tau^-2", "supports",
                        note="faster than stated")]
    return ClaimResult("holds", "the gap is below the tolerance", evidence, size="n=3, d=2",
                       figures={"fake-holds.png": _draw}, findings=findings)


def _inconclusive(budget, seed, progress):
    SEEN.append(("fake-inconclusive", budget, seed))
    return ClaimResult("inconclusive", "the quick budget is too small to decide", {"steps": 10}, size="steps=10")


def _fails(budget, seed, progress):
    return ClaimResult("fails", "the loss rose by 0.25 where the claim says it falls", {"rise": 0.25})


def _raises(budget, seed, progress):
    raise ZeroDivisionError("the fake claim divided by zero")


def _returns_dict(budget, seed, progress):
    return {"verdict": "holds"}


def _bad_figure(budget, seed, progress):
    def draw(path):
        raise ValueError("cannot draw this")

    return ClaimResult("holds", "fine", figures={"bad.png": draw})


def _many_values(budget, seed, progress):
    evidence = {f"value_{k}": k / 7 for k in range(30)}
    evidence["long_text"] = "x" * 500
    return ClaimResult("holds", "many values", evidence, size="a very long size description " * 3)


FAKES = {
    "fake-holds": ("A fake claim that holds.", _holds),
    "fake-inconclusive": ("A fake claim that cannot be decided.", _inconclusive),
    "fake-fails": ("A fake claim that fails.", _fails),
    "fake-raises": ("A fake claim that raises.", _raises),
    "fake-returns-dict": ("A fake claim that returns a dict.", _returns_dict),
    "fake-bad-figure": ("A fake claim whose figure raises.", _bad_figure),
    "fake-many-values": ("A fake claim with a lot of evidence.", _many_values),
}


@pytest.fixture
def use_claims(monkeypatch):
    """``use_claims(id, ...)`` makes those fake claims the whole registry."""

    def install(*ids):
        registry = {cid: Claim(cid, FAKES[cid][0], FAKES[cid][1]) for cid in ids}
        monkeypatch.setattr(verify.claims, "all_claims", lambda: registry)
        monkeypatch.setattr(verify.claims, "CLAIM_IDS", CLAIM_IDS + tuple(FAKES))  # --claim checks this list

    SEEN.clear()
    return install


def _rows(stdout):
    return {m["id"]: m for m in map(ROW.match, stdout.splitlines()) if m}


def test_table_and_json_agree(use_claims, tmp_path, capsys):
    use_claims("fake-holds", "fake-inconclusive")
    path = tmp_path / "report.json"
    assert main(["report", "--json", str(path)]) == 0
    table = _rows(capsys.readouterr().out)
    document = json.loads(path.read_text(encoding="utf-8"))
    assert [c["id"] for c in document["claims"]] == list(table) == ["fake-holds", "fake-inconclusive"]
    for c in document["claims"]:
        row = table[c["id"]]
        assert row["verdict"].lower() == c["verdict"]
        assert float(row["seconds"]) == c["seconds"], "table and JSON must show the same rounded seconds"
    assert document["claims"][0]["seconds"] >= 0.02


def test_failing_claim_exits_1_and_says_why(use_claims, capsys):
    use_claims("fake-holds", "fake-fails")
    assert main(["report"]) == 1
    out = capsys.readouterr().out
    assert _rows(out)["fake-fails"]["verdict"] == "FAILS"
    assert "FAILS fake-fails: the loss rose by 0.25 where the claim says it falls" in out


def test_raising_claim_exits_2_names_it_and_the_others_still_run(use_claims, tmp_path, capsys):
    use_claims("fake-raises", "fake-holds")
    path = tmp_path / "report.json"
    assert main(["report", "--json", str(path)]) == 2
    captured = capsys.readouterr()
    assert "ERROR fake-raises: ZeroDivisionError: the fake claim divided by zero" in captured.out
    assert "Traceback" in captured.err and "fake-raises" in captured.err
    assert _rows(captured.out)["fake-holds"]["verdict"] == "HOLDS"
    verdicts = {c["id"]: c["verdict"] for c in json.loads(path.read_text())["claims"]}
    assert verdicts == {"fake-raises": "error", "fake-holds": "holds"}


def test_a_result_that_is_not_a_claim_result_is_an_error(use_claims, capsys):
    use_claims("fake-returns-dict")
    assert main(["report"]) == 2
    assert "ERROR fake-returns-dict: TypeError: claim returned dict, not a ClaimResult" in capsys.readouterr().out


@pytest.mark.parametrize(("claim_id", "message", "before_the_header"), [
    ("no-such-claim", "argument --claim: unknown claim id 'no-such-claim'; the paper's claims: lemma-2.2", True),
    ("thm-3.7", "claim 'thm-3.7' is in the paper's list but no module registers it yet", False),
])
def test_a_claim_id_that_is_not_registered_exits_2(use_claims, capsys, claim_id, message, before_the_header):
    """An id outside the paper's list is refused when parsed, before the header (the registry needs the
    claims' imports, so an id of the list that no module registers is refused after them)."""
    use_claims("fake-holds")
    assert main(["report", "--claim", "fake-holds", "--claim", claim_id]) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert (captured.out == "") == before_the_header
    assert SEEN == [], "nothing runs when an argument is wrong"


def test_a_claim_named_twice_exits_2_before_any_work(use_claims, capsys):
    use_claims("fake-holds")
    assert main(["report", "--claim", "fake-holds", "--claim", "fake-holds"]) == 2
    captured = capsys.readouterr()
    assert (captured.err.count("\n") == 1
            and "argument --claim: 'fake-holds' given twice; give each once" in captured.err)
    assert captured.out == "" and SEEN == []


def test_json_to_stdout_leaves_stdout_to_the_json_alone(use_claims, tmp_path, capsys, monkeypatch):
    """--json - writes the document to stdout and the table to stderr (before: a file named '-')."""
    use_claims("fake-holds")
    monkeypatch.chdir(tmp_path)
    assert main(["report", "--json", "-"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["claims"][0]["id"] == "fake-holds"
    assert _rows(captured.err)["fake-holds"]["verdict"] == "HOLDS"
    assert not (tmp_path / "-").exists()


@pytest.mark.parametrize(("arguments", "words"), [
    (["--budget", "huge"], "argument --budget: invalid choice: 'huge'"),
    (["--seed", "-1"], "argument --seed: a seed must be in [0, 4294967295], got -1"),
    (["--seed", "x"], "argument --seed: a seed must be an integer, got 'x'"),
    (["--time-limit", "-5"], "argument --time-limit: a time limit must be >= 0 seconds"),
    (["--json", "{tmp}/missing/report.json"], "its folder {tmp}/missing does not exist"),
    (["--json", "{tmp}"], "is a folder; give a file name"),
    (["--figures", "{tmp}/missing/figs"], "its parent folder {tmp}/missing does not exist"),
    (["--figures", "{tmp}/a-file"], "exists and is not a folder"),
    (["--no-such-option"], "unrecognized arguments: --no-such-option"),
    (["--seed", "1", "--seed", "2"], "argument --seed: given twice; give it once"),  # argparse kept the 2
])
def test_each_argument_mistake_is_one_line_and_exit_2_before_any_work(use_claims, tmp_path, capsys, arguments,
                                                                       words):
    use_claims("fake-holds")
    (tmp_path / "a-file").write_text("")
    arguments = [a.replace("{tmp}", str(tmp_path)) for a in arguments]
    assert main(["report", *arguments]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and words.replace("{tmp}", str(tmp_path)) in captured.err, captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    assert SEEN == [], "nothing runs when an argument is wrong"
    assert not (tmp_path / "missing").exists(), "no folder is created for a bad argument"


def test_only_the_named_figures_folder_is_created(use_claims, tmp_path):
    use_claims("fake-inconclusive")
    assert main(["report", "--figures", str(tmp_path / "figs")]) == 0
    assert (tmp_path / "figs").is_dir()
    assert [p.name for p in tmp_path.iterdir()] == ["figs"]


def test_version_exits_0(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"verify {verify.__version__}"


def test_header_is_printed_before_the_claims_are_imported(monkeypatch, capsys):
    seen = []

    def registry():
        seen.append(sys.stdout.getvalue())  # what the user sees when the slow imports start
        return {"fake-holds": Claim("fake-holds", FAKES["fake-holds"][0], FAKES["fake-holds"][1])}

    monkeypatch.setattr(verify.claims, "all_claims", registry)
    assert main(["report", "--seed", "3"]) == 0
    assert seen and seen[0].startswith("verify report: all claims, budget quick, seed 3"), seen


def test_no_registered_claim_exits_2(monkeypatch, capsys):
    monkeypatch.setattr(verify.claims, "all_claims", lambda: {})
    assert main(["report"]) == 2
    assert "no claim is registered" in capsys.readouterr().err


def test_claim_selection_budget_and_seed_reach_the_claims(use_claims, tmp_path):
    use_claims("fake-holds", "fake-inconclusive")
    path = tmp_path / "report.json"
    assert main(["report", "--claim", "fake-inconclusive", "--budget", "full", "--seed", "7",
                 "--json", str(path)]) == 0
    assert SEEN == [("fake-inconclusive", "full", 7)]
    document = json.loads(path.read_text())
    assert (document["budget"], document["seed"]) == ("full", 7)


def test_figures_are_written_as_png(use_claims, tmp_path):
    import matplotlib.image

    use_claims("fake-holds")
    folder = tmp_path / "new"  # does not exist yet (its parent does)
    assert main(["report", "--figures", str(folder)]) == 0
    png = folder / "fake-holds.png"
    assert png.read_bytes()[:8] == PNG_SIGNATURE
    image = matplotlib.image.imread(png)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100


def test_a_figure_that_raises_is_an_error(use_claims, tmp_path, capsys):
    use_claims("fake-bad-figure")
    assert main(["report", "--figures", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert "ERROR fake-bad-figure: a figure could not be drawn" in captured.out
    assert "ValueError: cannot draw this" in captured.err


def test_evidence_is_json_safe_and_loses_no_digits(use_claims, tmp_path):
    use_claims("fake-holds")
    path = tmp_path / "report.json"
    main(["report", "--json", str(path)])
    text = path.read_text()
    evidence = json.loads(text)["claims"][0]["evidence"]
    assert "NaN" not in text and "Infinity" not in text  # strict JSON
    third = evidence["third"]
    assert isinstance(third, str) and third.startswith("0.3333333333333333333333333333333333333333")
    with mpmath.workdps(40):
        assert mpmath.mpf(third) == _third_at_40_digits()
    assert evidence["gap"] == 1.5e-14 and evidence["count"] == 12 and evidence["ratios"] == [0.5, 0.25]
    assert (evidence["overflow"], evidence["undefined"]) == ("inf", "nan")
    assert evidence["big"] == str(2**80)
    assert evidence["nested"] == {"n": 3, "values": [1.0, 2.0]}


def test_json_has_the_documented_keys(use_claims, tmp_path):
    use_claims("fake-holds")
    path = tmp_path / "report.json"
    main(["report", "--json", str(path)])
    document = json.loads(path.read_text())
    top = {"schema", "versions", "seed", "budget", "time_limit", "claims"}
    claim = {"id", "statement", "gap", "verdict", "reason", "seconds", "size", "evidence", "findings", "figures"}
    finding = {"name", "value", "uncertainty", "window", "law", "relation", "note"}
    versions = {"verify", "python", "numpy", "mpmath", "sympy", "hypothesis", "flint", "matplotlib"}
    assert set(document) == top
    assert document["schema"] == "verify-report/2"
    assert set(document["versions"]) == versions
    assert set(document["claims"][0]) == claim
    assert [set(f) for f in document["claims"][0]["findings"]] == [finding]
    assert document["claims"][0]["findings"][0]["value"] == -2.0
    schema_doc = (REPO / "docs" / "report_schema.md").read_text()
    undocumented = sorted(k for k in top | claim | versions | finding if f"`{k}`" not in schema_doc)
    assert not undocumented, f"docs/report_schema.md does not document {undocumented}"


def test_table_stays_within_the_width_and_never_cuts_a_word(use_claims, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "100")
    use_claims("fake-many-values")
    assert main(["report"]) == 0
    out = capsys.readouterr().out
    too_long = [line for line in out.splitlines() if len(line) > 100]
    assert not too_long, too_long
    # the size is shown whole (each word intact); the evidence is left to --verbose and --json
    assert out.split().count("description") == 3 and "value_29" not in out and "--verbose" in out


def test_verbose_shows_every_value_whole(use_claims, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "100")
    use_claims("fake-many-values")
    assert main(["report", "--verbose"]) == 0
    out = capsys.readouterr().out
    for k in range(30):
        assert f"value_{k} = {k / 7!r}" in out  # every entry, every digit
    assert "x" * 500 in out, "a long value is never cut"
    # negative control: without --verbose the values are not shown
    assert main(["report"]) == 0
    assert "value_3 =" not in capsys.readouterr().out


def test_table_counts_findings_and_shows_one_sentence():
    from verify.report import table

    row = {"id": "fake-findings", "verdict": "holds", "seconds": 1.0, "reason": "fine. Second sentence.",
           "size": "n=1", "statement": "s", "evidence": {}, "figures": [],
           "findings": [Finding("loss exponent", -2.0, 0.05, "tau in [10, 100]", "L ~ tau^-2").as_dict(),
                        Finding("constant", 1.5).as_dict()]}
    text = table.format_table([row])
    line = next(ln for ln in text.splitlines() if ln.startswith("fake-findings"))
    assert line.split()[:4] == ["fake-findings", "HOLDS", "1.00", "2"]
    assert "fine. (more: --verbose)" in text and "Second sentence" not in text
    assert "- loss exponent = -2 +- 0.05 over tau in [10, 100] (L ~ tau^-2; measures)" in table.details([row])
    # the control: a row without findings (a report from before findings existed) shows 0
    row.pop("findings")
    assert next(ln for ln in table.format_table([row]).splitlines() if ln.startswith("fake-findings")).split()[3] == "0"


def test_progress_goes_to_stderr_as_plain_lines_when_it_is_not_a_terminal(use_claims, capsys):
    use_claims("fake-holds", "fake-inconclusive")
    assert main(["report"]) == 0
    captured = capsys.readouterr()
    assert "[1/2] fake-holds ..." in captured.err and "fake-holds: HOLDS in" in captured.err
    assert "[2/2] fake-inconclusive ..." in captured.err
    assert "\r" not in captured.err and "[1/2]" not in captured.out, "stdout holds only the table"


def test_progress_on_a_terminal_is_one_redrawn_status_line(use_claims, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    use_claims("fake-holds")
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["report"]) == 0
    shown = terminal.getvalue()
    assert "\r[1/1] fake-holds, inner loop (3 of 3)" in shown and "fake-holds: HOLDS in" in shown


def _slow(budget, seed, progress):
    from verify.engine.time_limit import check_time

    for k in range(400):
        progress(k, 400, "slow loop")
        time.sleep(0.005)
        check_time()  # what the engine does before each batch of nodes
    return ClaimResult("holds", "finished", {}, size="400 steps")


def test_a_claim_past_its_time_limit_is_inconclusive_with_its_estimated_cost(monkeypatch, tmp_path):
    monkeypatch.setattr(verify.claims, "all_claims", lambda: {"fake-slow": Claim("fake-slow", "Slow.", _slow)})
    path = tmp_path / "report.json"
    assert main(["report", "--time-limit", "0.2", "--json", str(path)]) == 0
    row = json.loads(path.read_text())["claims"][0]
    assert row["verdict"] == "inconclusive", row
    assert "stopped at the time limit of 0.2 s per claim" in row["reason"]
    assert "the whole claim would take about" in row["reason"]
    assert row["evidence"]["parts"] == 400 and 0 < row["evidence"]["parts_done"] < 400
    # the estimate is the time per part times the parts: at least the 400 x 5 ms slept
    assert row["evidence"]["estimated_seconds"] >= 1.5
    # negative control: without the limit the same claim runs to its own verdict
    assert main(["report", "--time-limit", "0", "--json", str(path)]) == 0
    assert json.loads(path.read_text())["claims"][0]["verdict"] == "holds"


def _stuck_in_first_part(budget, seed, progress):
    from verify.engine.time_limit import check_time

    progress(0, 4, "first part")
    for _ in range(2000):
        time.sleep(0.005)
        check_time()
    return ClaimResult("holds", "finished", {}, size="4 parts")


def test_a_claim_stopped_in_its_first_part_gets_a_lower_bound_on_its_cost(monkeypatch, tmp_path):
    monkeypatch.setattr(verify.claims, "all_claims",
                        lambda: {"fake-stuck": Claim("fake-stuck", "Stuck.", _stuck_in_first_part)})
    path = tmp_path / "report.json"
    assert main(["report", "--time-limit", "0.2", "--json", str(path)]) == 0
    row = json.loads(path.read_text())["claims"][0]
    assert row["verdict"] == "inconclusive", row
    # none of the 4 parts finished within 0.2 s: more than 4 x 0.2 s if the parts cost alike
    assert "none of its parts finished, so the whole claim needs more than 0.8 s" in row["reason"], row["reason"]
    assert row["evidence"]["parts_done"] == 0 and row["evidence"]["estimated_seconds"] is None
    # negative control: a claim that reports no progress at all gets no bound
    monkeypatch.setattr(verify.claims, "all_claims", lambda: {"fake-silent": Claim(
        "fake-silent", "Silent.", lambda budget, seed, progress: _stuck_in_first_part(budget, seed, lambda *a: None))})
    assert main(["report", "--time-limit", "0.2", "--json", str(path)]) == 0
    assert "its total cost is not known" in json.loads(path.read_text())["claims"][0]["reason"]


def test_help_from_the_command_line():
    done = subprocess.run([sys.executable, "-m", "verify.cli", "report", "--help"], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for option in ("--budget", "--claim", "--seed", "--json", "--figures"):
        assert option in done.stdout


@pytest.mark.parametrize("claim_id", CLAIM_IDS)
def test_every_real_claim_rejects_an_unknown_budget_by_name(claim_id):
    # called directly (the CLI checks --budget itself): the claim must refuse before it runs
    # anything, naming the argument, instead of running an unknown budget as the quick one
    claim = all_claims()[claim_id]
    with pytest.raises(ValueError, match="budget must be one of .*'medium'"):
        claim(budget="medium")


def test_a_finding_names_its_relation_and_a_result_holds_only_findings():
    with pytest.raises(ValueError, match="relation must be one of"):
        Finding("slope", -1.0, relation="agrees")
    # negative control: a plain dict in place of a Finding is refused, not carried into the JSON
    with pytest.raises(TypeError, match="findings must be Finding objects"):
        ClaimResult("holds", "fine", findings=[{"name": "slope", "value": -1.0}])


@pytest.mark.parametrize("claim_id", CLAIM_IDS)
def test_every_real_claim_refuses_an_unknown_override_by_name(claim_id):
    # an override that is silently ignored would let a negative control pass on the real ingredient
    with pytest.raises(ValueError, match="unknown override.*'no_such_entry'"):
        all_claims()[claim_id](budget="quick", no_such_entry=1)


def test_every_claim_of_the_paper_is_registered():
    # the one registration test: importing the claim modules registers exactly the paper's claims
    assert set(all_claims()) == set(CLAIM_IDS)
    # negative control: a registry missing a claim is not the paper's list
    assert set(all_claims()) - {"fig-1"} != set(CLAIM_IDS)


def test_the_table_names_each_claims_gap_to_the_theorem(monkeypatch):
    """A verdict holds at the sizes named; the gap to the theorem as stated (its constant out of
    reach, ...) was named only in proofs_map.md.  The table and --verbose now print it under the sizes
    (verify/claims/gaps.py).  Control: a claim outside the paper has no gap line."""
    from verify.report.table import details, format_table

    rows = [dict(id="thm-3.5", statement="s", verdict="holds", reason="r.", seconds=1.0, size="M0 = 14",
                 gap="M0 = 14 is far below 10^9 sqrt(d) n^10", findings=[]),
            dict(id="fake", statement="s", verdict="holds", reason="r.", seconds=1.0, size="n = 2", gap="",
                 findings=[])]
    monkeypatch.setattr("verify.report.table._width", lambda: 120)
    table = format_table(rows)
    assert "gap to the theorem: M0 = 14 is far below 10^9 sqrt(d) n^10" in table
    assert table.count("gap to the theorem") == 1
    assert "  gap to the theorem: M0 = 14 is far below" in details(rows)
