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
    loglog_with_slopes(path, tau, 1 / tau, xlabel="tau", ylabel="L", predicted_slope=-1.0)


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

    SEEN.clear()
    return install


def _rows(stdout):
    return {m["id"]: m for m in map(ROW.match, stdout.splitlines()) if m}


def test_table_and_json_agree(use_claims, tmp_path, capsys):
    use_claims("fake-holds", "fake-inconclusive")
    path = tmp_path / "out" / "report.json"
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


@pytest.mark.parametrize(("claim_id", "message"), [
    ("no-such-claim", "unknown claim id 'no-such-claim'; registered: fake-holds"),
    ("thm-3.7", "claim 'thm-3.7' is in the paper's list but no module registers it yet"),
])
def test_a_claim_id_that_is_not_registered_exits_2(use_claims, capsys, claim_id, message):
    use_claims("fake-holds")
    assert main(["report", "--claim", "fake-holds", "--claim", claim_id]) == 2
    assert message in capsys.readouterr().err
    assert SEEN == [], "nothing runs when an argument is wrong"


def test_bad_arguments_exit_2(use_claims, capsys):
    use_claims("fake-holds")
    assert main(["report", "--budget", "huge"]) == 2
    assert "invalid choice: 'huge'" in capsys.readouterr().err


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
    folder = tmp_path / "figs" / "new"  # does not exist yet
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
    top = {"schema", "versions", "seed", "budget", "claims"}
    claim = {"id", "statement", "verdict", "reason", "seconds", "size", "evidence", "findings", "figures"}
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


def test_table_stays_within_the_width_and_points_to_the_json(use_claims, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "100")
    use_claims("fake-many-values")
    assert main(["report"]) == 0
    out = capsys.readouterr().out
    too_long = [line for line in out.splitlines() if len(line) > 100]
    assert not too_long, too_long
    assert "(+23 more in --json)" in out


def test_progress_is_silent_unless_stderr_is_a_terminal(use_claims, monkeypatch, capsys):
    use_claims("fake-holds")
    assert main(["report"]) == 0
    assert capsys.readouterr().err == ""

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["report"]) == 0
    assert "inner loop" in terminal.getvalue()


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
