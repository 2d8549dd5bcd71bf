"""The regression gate (issue 3): the shipped examples, the tolerances, bad input.

* the reference passes, the sampler passes as stochastic;
* each deliberately wrong variant is rejected by the check that should catch it,
  and passes the checks it should pass (``wrong.CAUGHT_BY`` / ``wrong.PASSES``);
* the biased sampler is rejected;
* bad input to the gate gives exit status 2 (1 for NaN: a wrong answer) and a message.

CI runs the quick subset of configurations (``quick=True``); the full runs
are marked ``thorough``.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from verify.cli import main as verify_main
from verify.gate import checks, configs, protocol
from verify.gate import tolerances as tl
from verify.gate.examples import wrong
from verify.gate.examples.sampler import SampleImplementation
from verify.gate.export import VERSION, load_reference_values, reference_values_text


def _gate(spec_or_obj, which=None, *, quick=True, **kw):
    impl = (protocol.load_implementation(spec_or_obj) if isinstance(spec_or_obj, str)
            else protocol.bind(spec_or_obj, type(spec_or_obj).__name__))
    rows = checks.run_gate(impl, which, quick=quick, **kw)
    return {r.name: r for r in rows}, checks.exit_status(rows), rows


def _table(rows) -> str:
    return checks.format_rows(rows, failures=False)


# ----------------------------------------------------------------------------- shipped examples


def test_reference_passes_every_check_quick():
    by_name, status, rows = _gate("verify.gate.examples.reference:implementation")
    assert status == 0, _table(rows)
    assert set(by_name) == {f"{c}[{q}]" for c, qs in checks.QUANTITIES.items() for q in qs}
    # deterministic tolerances are tight: far below the 1e-6 the issue requires to catch
    for name in ("reference_values[loss]", "reference_values[grad]"):
        assert by_name[name].worst_error < 1e-12 and by_name[name].tolerance < 1e-9


@pytest.mark.thorough
def test_reference_passes_every_check_full():
    _, status, rows = _gate("verify.gate.examples.reference:implementation", quick=False)
    assert status == 0, _table(rows)


def test_sampler_passes_as_stochastic_quick():
    by_name, status, rows = _gate("verify.gate.examples.sampler:implementation")
    assert status == 0, checks.format_rows(rows, stochastic=True)
    # its tolerances come from its spread: wider than the deterministic ones, below the cap
    tol = by_name["reference_values[grad]"].tolerance
    assert 1e-5 < tol <= tl.CAP
    assert "mdb" in by_name["reference_values[grad]"].note


@pytest.mark.thorough
def test_sampler_passes_as_stochastic_full():
    _, status, rows = _gate("verify.gate.examples.sampler:implementation", quick=False)
    assert status == 0, checks.format_rows(rows, stochastic=True)


def test_biased_sampler_is_rejected():
    by_name, status, rows = _gate("verify.gate.examples.sampler:BiasedSampler", ["reference_values"])
    assert status == 1
    assert by_name["reference_values[loss]"].status == "fail", _table(rows)
    assert by_name["reference_values[grad]"].status == "fail", _table(rows)
    # rejected by a margin, not by luck: the bias is several times the tolerance
    worst = max(f.error / f.tolerance for f in by_name["reference_values[loss]"].failures)
    assert worst > 2


def _checks_for(rows: list[str]) -> list[str]:
    return sorted({r.split("[")[0] for r in rows}, key=list(checks.CHECKS).index)


@pytest.mark.parametrize("variant", sorted(wrong.CAUGHT_BY))
def test_wrong_variant_is_caught_by_the_right_check(variant):
    must_fail, must_pass = wrong.CAUGHT_BY[variant], wrong.PASSES[variant]
    by_name, status, rows = _gate(f"verify.gate.examples.wrong:{variant}", _checks_for(must_fail + must_pass))
    table = _table(rows)
    assert status == 1, table
    for name in must_fail:
        assert by_name[name].status == "fail", f"{variant}: {name} should fail\n{table}"
        assert by_name[name].failures, f"{variant}: {name} failed without a listed failure"
    for name in must_pass:
        assert by_name[name].status == "pass", f"{variant}: {name} should pass\n{table}"


def test_perturbed_gradient_fails_by_a_wide_margin():
    """A relative error of 1e-6 in the gradient must fail (issue 3): by orders of magnitude."""
    by_name, _, _ = _gate("verify.gate.examples.wrong:Perturbed1e6", ["reference_values"])
    row = by_name["reference_values[grad]"]
    assert row.status == "fail"
    assert max(f.error / f.tolerance for f in row.failures) > 100


def test_failure_is_pasteable_and_says_expected_got_tolerance():
    by_name, _, rows = _gate("verify.gate.examples.wrong:ScaledGradient", ["reference_values"])
    f = by_name["reference_values[grad]"].failures[0]
    ns: dict = {}
    exec(f.snippet, ns)  # noqa: S102 - the snippet is ours; it must run as printed
    assert ns["mu"].dtype == np.float64 and ns["mu"].ndim == 2 and ns["mu_star"].ndim == 1
    assert ns["t"] > 0  # the e^{t} error is invisible at t = 0
    text = checks.format_rows(rows)
    assert "expected:" in text and "got:" in text and "tolerance" in text
    assert f"FAIL reference_values[grad] at {f.configuration}" in text


def test_cap_cannot_be_widened_by_noise():
    """A very noisy implementation does not get a tolerance above CAP, and the row says so."""

    class Noisy:
        stochastic = True

        def __init__(self):
            from verify.gate.examples.reference import ReferenceImplementation

            self.ref = ReferenceImplementation()

        def loss(self, mu, mu_star, t, *, seed=0):
            return self.ref.loss(mu, mu_star, t) * (1 + 0.5 * np.random.default_rng(seed).standard_normal())

        def grad(self, mu, mu_star, t, *, seed=0):
            g = self.ref.grad(mu, mu_star, t)
            return g * (1 + 0.5 * np.random.default_rng(seed + 1).standard_normal(g.shape))

    by_name, _, rows = _gate(Noisy(), ["reference_values"])
    for name in ("reference_values[loss]", "reference_values[grad]"):
        assert by_name[name].tolerance <= tl.CAP
        assert "capped" in by_name[name].note, _table(rows)


# ----------------------------------------------------------------------------- tolerances


def test_t_quantile_matches_tables():
    assert tl.t_quantile(0.975, 10) == pytest.approx(2.228138851986, rel=1e-9)
    assert tl.t_quantile(0.995, 15) == pytest.approx(2.946712883, rel=1e-8)
    assert tl.t_quantile(0.025, 10) == pytest.approx(-2.228138851986, rel=1e-9)


def test_deterministic_tolerance_catches_1e6_at_moderate_condition():
    assert tl.deterministic_tolerance(1e-25, 10.0) < 1e-9
    assert tl.deterministic_tolerance(1e-25, 1e30) == tl.CAP


def test_stochastic_tolerance_bonferroni_and_cap():
    tol1, _, _ = tl.stochastic_tolerance(1e-3, 1, 16)
    tol100, _, mdb = tl.stochastic_tolerance(1e-3, 100, 16)
    assert tol100 > tol1  # more comparisons, wider per comparison
    assert mdb > tol100  # the detectable bias exceeds the threshold (power 0.9 > 0.5)
    tol, capped, _ = tl.stochastic_tolerance(1.0, 10, 16)
    assert tol == tl.CAP and capped


# ----------------------------------------------------------------------------- published values


def test_published_values_match_the_configurations():
    data = load_reference_values()
    assert data["format"] == "verify-gate-reference-values" and data["version"] == VERSION
    published = {e["name"]: e for e in data["configurations"]}
    assert list(published) == [c.name for c in configs.REGRESSION_CONFIGURATIONS]
    for c in configs.REGRESSION_CONFIGURATIONS:
        e = published[c.name]
        mu, mu_star, t = c.arrays()
        assert np.array_equal(np.array(e["mu"]), mu) and np.array_equal(np.array(e["mu_star"]), mu_star)
        assert e["t"] == t and e["quick"] == c.quick
    assert [i["name"] for i in data["dynamics"]] == [i.name for i in configs.DYNAMICS_INSTANCES]
    for inst in data["dynamics"]:
        assert inst["reference_outcome"] == inst["expected"]


def test_configurations_cover_every_regime():
    cs = configs.REGRESSION_CONFIGURATIONS
    assert any(c.t == 0 for c in cs) and any(0 < c.t <= 3 for c in cs)
    assert any(c.n == 1 for c in cs) and any(c.d == 1 for c in cs)
    assert any(c.max_coordinate >= 1e12 for c in cs) and any(1e8 <= c.max_coordinate < 1e9 for c in cs)
    regimes = " ".join(c.regime for c in cs)
    for word in ("collapsed", "nearly collapsed", "far-apart", "Theorem 3.1", "huge"):
        assert word in regimes
    # every regime is in the quick subset too
    quick = [c for c in cs if c.quick]
    assert any(c.t == 0 for c in quick) and any(c.t > 0 for c in quick) and any(c.n == 1 for c in quick)
    assert any("Theorem 3.1" in c.regime for c in quick) and any(c.max_coordinate >= 1e12 for c in quick)


def test_published_values_agree_with_closed_forms():
    """n = 1: L = e^{-2t} |mu - mu*|^2, grad = 2 e^{-2t} (mu - mu*); Theorem 3.1: L(s*) from stationary_points."""
    data = {e["name"]: e for e in load_reference_values()["configurations"]}
    for name in ("n1_d3_t0.6", "n1_d1_t0"):
        e = data[name]
        mu, mu_star, t = np.array(e["mu"]), np.array(e["mu_star"]), e["t"]
        diff = mu - mu_star
        assert float(e["loss"]) == pytest.approx(math.exp(-2 * t) * float(np.sum(diff**2)), rel=1e-15)
        g = np.array([[float(x) for x in r] for r in e["grad"]])
        np.testing.assert_allclose(g, 2 * math.exp(-2 * t) * diff, rtol=1e-15)
    radii = json.loads(open(configs.__file__.replace("gate/configs.py", "data/thm_3_1_stationary_radii.json")).read())
    L3 = radii["radii"]["3"]["loss"]
    for name in ("thm3.1_stationary_t0", "thm3.1_stationary_t1", "thm3.1_stationary_shifted"):
        assert data[name]["loss"][:20] == L3[:20]
        g = np.array([[float(x) for x in r] for r in data[name]["grad"]])
        assert np.max(np.abs(g)) < 1e-14  # a stationary point


def test_export_prints_the_shipped_file(capsys):
    assert verify_main(["gate", "--export"]) == 0
    out = capsys.readouterr().out
    assert out == reference_values_text()
    assert json.loads(out)["version"] == VERSION


# ----------------------------------------------------------------------------- the sampler


def test_sampler_is_the_brute_force_monte_carlo_of_the_model():
    """Same draws, computed the plain way with verify.engine.model's integrands."""
    from verify.engine import model

    impl = SampleImplementation(samples=5000)
    mu = np.array([[1.0, 0.5], [-0.7, 0.2], [0.1, -0.9]])
    mu_star, t, seed = np.array([0.2, -0.1]), 0.7, 3
    x = math.exp(-t) * mu_star + np.random.default_rng(seed).standard_normal((5000, 2))
    L = model.loss_integrand(x, mu, mu_star, t).mean()
    G = math.exp(-t) * model.pathwise_grad_integrand(x, mu, mu_star, t).mean(axis=0)
    assert impl.loss(mu, mu_star, t, seed=seed) == pytest.approx(L, rel=1e-12)
    np.testing.assert_allclose(impl.grad(mu, mu_star, t, seed=seed), G, rtol=1e-10, atol=1e-14)


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "spec, status, words",
    [
        ("verify.gate.examples.no_such_module:x", 2, ["cannot import", "no_such_module"]),
        ("verify.gate.examples.broken:Nonexistent", 2, ["has no attribute 'Nonexistent'"]),
        ("verify.gate.examples.broken:MissingGrad", 2, ["has no callable grad"]),
        ("verify.gate.examples.broken:NotCallable", 2, ["has no callable grad"]),
        ("os:path", 2, ["(module) has neither a callable loss nor a callable grad;"]),  # was "no callable neither"
        ("verify.gate.examples.broken:NoSeed", 2, ["stochastic = True", "seed"]),
        ("verify.gate.examples.broken:NeedsArguments", 2, ["instantiating it without arguments"]),
        ("verify.gate.examples.broken:Raises", 2, ["raised IndexError", "mu = np.array("]),
        ("verify.gate.examples.broken:WrongShape", 2, ["returned shape", "transposed"]),
        ("verify.gate.examples.broken:Float32", 2, ["float32", "float64"]),
        ("verify.gate.examples.broken:NaNAtHuge", 1, ["nan", "huge_far_1e8"]),
    ],
)
def test_bad_input_gives_a_message_and_the_right_status(spec, status, words, capsys):
    assert verify_main(["gate", spec, "--quick", "--check", "reference_values"]) == status
    cap = capsys.readouterr()
    text = cap.out + cap.err
    for w in words:
        assert w in text, text
    assert not text.lstrip().startswith("Traceback"), text


def test_gate_called_without_implementation():
    assert verify_main(["gate"]) == 2
    assert verify_main(["gate", "verify.gate.examples.reference:implementation", "--check", "nope"]) == 2


def test_bound_validates_results():
    class Impl:
        def loss(self, mu, mu_star, t):
            return np.array([1.0])

        def grad(self, mu, mu_star, t):
            return np.zeros(np.size(mu), dtype=np.int64)

    b = protocol.bind(Impl, "Impl")  # a class is instantiated
    mu, ms = np.zeros((2, 3)), np.zeros(3)
    with pytest.raises(protocol.ImplementationError, match="shape"):
        b.loss(mu, ms, 0.0)
    with pytest.raises(protocol.ImplementationError, match="integer"):
        b.grad(mu, ms, 0.0)
    assert isinstance(b.obj, Impl)


@pytest.mark.parametrize("returned", [list, tuple])
def test_bound_refuses_a_python_sequence_where_an_array_is_due(returned):
    """docs/gate.md asks grad for a float64 ndarray; numpy would take a list, guessing its dtype.  The wrong input:
    grad (and step) returning the right numbers as a list or tuple; the control: the same numbers as an ndarray."""
    mu, ms = np.zeros((2, 3)), np.zeros(3)

    class Impl:
        loss = staticmethod(lambda mu, mu_star, t: 0.0)
        grad = staticmethod(lambda mu, mu_star, t: returned(returned(row) for row in np.ones_like(mu)))
        step = staticmethod(lambda mu, mu_star, t, eta: returned(returned(row) for row in mu))

    b = protocol.bind(Impl, "Impl")
    for call, args in (("grad", ()), ("step", (0.1,))):
        with pytest.raises(protocol.ImplementationError) as exc:
            getattr(b, call)(mu, ms, 0.0, *args)
        assert exc.value.message == (f"Impl.{call} returned a {returned.__name__}; expected a float64 numpy array "
                                     "of shape (2, 3) (return np.asarray(..., dtype=np.float64) of it)")
        assert "mu = np.array(" in exc.value.config  # named with its configuration, as every wrong result
    Impl.grad = staticmethod(lambda mu, mu_star, t: np.ones_like(mu))  # the control
    Impl.step = staticmethod(lambda mu, mu_star, t, eta: mu.copy())
    b = protocol.bind(Impl, "Impl")
    assert np.array_equal(b.grad(mu, ms, 0.0), np.ones((2, 3))) and np.array_equal(b.step(mu, ms, 0.0, 0.1), mu)
    Impl.loss = staticmethod(lambda mu, mu_star, t: [0.0])  # a loss as a one-item list: named as a list
    with pytest.raises(protocol.ImplementationError, match="Impl.loss returned a list; expected a float64 number"):
        protocol.bind(Impl, "Impl").loss(mu, ms, 0.0)


def test_cli_subprocess_json_and_status(tmp_path):
    """A fresh process: the console entry point's module, exit status, and --json."""
    out = tmp_path / "gate.json"
    proc = subprocess.run(
        [sys.executable, "-m", "verify.cli", "gate", "verify.gate.examples.wrong:HalfLoss", "--quick",
         "--check", "reference_values", "--json", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "reference_values[loss]" in proc.stdout and "FAIL" in proc.stdout
    doc = json.loads(out.read_text())
    assert doc["exit_status"] == 1 and doc["stochastic"] is False
    rows = {r["name"]: r for r in doc["rows"]}
    assert rows["reference_values[loss]"]["passed"] is False
    assert rows["reference_values[loss]"]["failures"][0]["snippet"].startswith("# ")


# ----------------------------------------------------------------------------- time limits


def test_a_call_that_runs_out_of_time_is_stopped_reported_and_the_rest_judged(capsys):
    args = ["gate", "verify.gate.examples.broken:SlowAtN1", "--quick", "--check", "reference_values"]
    assert verify_main(args + ["--time-limit", "1"]) == 2
    out = capsys.readouterr().out
    assert "TIMEOUT reference_values[loss] at n1_d3_t0.6:" in out and "was stopped after 1." in out
    assert "INCOMPLETE: calls ran out of time" in out
    tried = int(next(ln for ln in out.splitlines() if ln.startswith("reference_values[loss]")).split()[1])
    quick = [e for e in load_reference_values()["configurations"] if e.get("quick")]
    assert tried == len(quick) - 1, "every other configuration is still judged"
    # negative control: a limit above the implementation's delay judges everything, and it passes
    assert verify_main(args + ["--time-limit", "30"]) == 0
    assert "TIMEOUT" not in capsys.readouterr().out


def test_exit_status_orders_error_fail_and_incomplete():
    row = lambda status: checks.Row("c", "q", status=status)  # noqa: E731
    assert checks.exit_status([row("pass"), row("incomplete")]) == 2
    assert checks.exit_status([row("fail"), row("incomplete")]) == 1, "a wrong answer is reported as such"
    assert checks.exit_status([row("fail"), row("error")]) == 2
    assert checks.exit_status([row("pass"), row("skipped")]) == 0


def test_generated_configurations_are_fixed_and_cover_their_regimes():
    a, b = configs.generated_configurations(12), configs.generated_configurations(12)
    assert all(np.array_equal(x.mu, y.mu) and np.array_equal(x.mu_star, y.mu_star) and x.t == y.t
               for x, y in zip(a, b))
    # the values themselves are pinned: a change of the generator would change what the gate checks
    assert (a[0].n, a[0].d, a[0].t) == (3, 3, 0.20456431102396067)
    for c in a:
        regime = c.regime
        m = math.exp(-c.t) * (c.mu - c.mu_star)
        assert c.n <= 3 and c.d <= 3 and 0 <= c.t <= 3 and np.linalg.norm(c.mu_star) <= 3
        assert np.all(np.linalg.norm(m, axis=1) <= 4 + 1e-12) and c.scaled_spread() <= 8 + 1e-12
        if "t = 0" in regime:
            assert c.t == 0
        if "a mean at mu*" in regime:
            assert np.allclose(c.mu[0], c.mu_star)
        if "collapsed" in regime:
            assert c.scaled_spread() == 0
        if "n = 1" in regime:
            assert c.n == 1
        if "distance bound" in regime:
            assert c.scaled_spread() == pytest.approx(8)
    assert {c.regime.split("(")[1].split(";")[0] for c in a} == set(configs.GENERATED_REGIMES)


@pytest.mark.parametrize(("arguments", "words"), [
    (["not a spec"], "is not MODULE:ATTR"),
    (["m:"], "is not MODULE:ATTR"),
    (["verify.gate.examples.reference:implementation", "--repeats", "2"], "--repeats must be 1 or at least 3"),
    (["verify.gate.examples.reference:implementation", "--seed", "-3"], "a seed must be in"),
    (["verify.gate.examples.reference:implementation", "--generated", "0"], "--generated must be >= 1"),
    (["verify.gate.examples.reference:implementation", "--time-limit", "soon"], "a number of seconds"),
    (["verify.gate.examples.reference:implementation", "--check", "nope"], "unknown check 'nope'"),
    (["verify.gate.examples.reference:implementation", "--json", "/no/such/folder/x.json"], "does not exist"),
    (["verify.gate.examples.no_such_module:x"], "cannot import"),
])
def test_gate_argument_mistakes_are_one_line_and_exit_2(capsys, arguments, words):
    assert verify_main(["gate", *arguments]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and words in captured.err and "Traceback" not in captured.err, captured.err


def test_a_stale_or_foreign_data_file_is_refused_by_name(tmp_path, monkeypatch):
    # negative controls for the one loader both data files use: another version, another format, no file
    from verify.gate.datafile import DataFile

    f = DataFile("x.json", "verify-gate-reference-values", VERSION, "verify.gate.export")
    for text, says in [(reference_values_text().replace(f'"version": {VERSION}', '"version": 999', 1), "version 999"),
                       (reference_values_text().replace("verify-gate-reference-values", "other", 1), "format 'other'")]:
        monkeypatch.setattr(DataFile, "text", lambda self, text=text: text)
        with pytest.raises(ValueError, match=says):
            f.load()

    def missing(self):
        raise FileNotFoundError(self.name)

    monkeypatch.setattr(DataFile, "text", missing)
    with pytest.raises(FileNotFoundError, match="python -m verify.gate.export --write"):
        f.load()
