"""pytest plugin: the gate's checks as test items.

Registered through the ``pytest11`` entry point ``verify_gate`` (pyproject.toml),
so it is active wherever ``verify`` is installed, and does nothing unless
switched on::

    pytest --verify-impl mypackage.score:Implementation            # gate items + your tests
    pytest --verify-impl mypackage.score:Implementation -k verify_gate   # gate items only
    pytest --verify-impl ... --verify-quick                         # the quick subset of configurations

Each check of :mod:`verify.gate.checks` is one item, ``verify_gate[<check>]``;
it fails with the gate's table and the failing configurations (no
traceback).  An implementation that cannot be loaded stops the run with a
usage error (pytest exit status 4) and the loader's message; one that cannot
be used (a call raises, wrong shape or dtype) makes the item fail with that
message.
"""

from __future__ import annotations

import pytest

_KEY = None


def pytest_addoption(parser):
    group = parser.getgroup("verify-gate", "verify regression gate (arXiv 2511.22069)")
    group.addoption("--verify-impl", action="store", default=None, metavar="MODULE:ATTR",
                    help="run the verify gate's checks on this implementation (loss and grad of the model)")
    group.addoption("--verify-quick", action="store_true", default=False,
                    help="with --verify-impl: the quick subset of configurations")
    group.addoption("--verify-check", action="append", default=None, metavar="NAME",
                    help="with --verify-impl: run only this check (repeatable)")


def pytest_configure(config):
    global _KEY
    spec = config.getoption("verify_impl", default=None)
    if not spec:
        # the other options only shape the gate's run: without --verify-impl there is none, so say so
        # rather than run the ordinary tests as if they had been taken
        alone = [flag for flag, dest in (("--verify-quick", "verify_quick"), ("--verify-check", "verify_check"))
                 if config.getoption(dest, default=None)]
        if alone:
            raise pytest.UsageError(f"{' and '.join(alone)} {'apply' if len(alone) > 1 else 'applies'} only with "
                                    f"--verify-impl MODULE:ATTR (the implementation the gate checks)")
        return
    from .checks import CHECKS, GateContext
    from .protocol import LoadError, load_implementation

    checks = config.getoption("verify_check") or list(CHECKS)
    unknown = [c for c in checks if c not in CHECKS]
    if unknown:
        raise pytest.UsageError(f"--verify-check {unknown[0]!r}: choose from {', '.join(CHECKS)}")
    twice = [c for i, c in enumerate(checks) if c in checks[:i]]
    if twice:  # it would run, and report, the same check twice
        raise pytest.UsageError(f"--verify-check {twice[0]!r} given twice; give each once")
    try:
        impl = load_implementation(spec)
    except LoadError as exc:
        raise pytest.UsageError(f"verify gate: cannot load {spec}: {exc}") from None
    if _KEY is None:
        _KEY = pytest.StashKey[dict]()
    config.stash[_KEY] = {
        "spec": spec,
        "impl": impl,
        "checks": checks,
        "context": GateContext(impl, quick=config.getoption("verify_quick")),
    }


def pytest_collection_modifyitems(session, config, items):
    state = config.stash.get(_KEY, None) if _KEY is not None else None
    if not state:
        return
    for check in state["checks"]:
        items.append(GateItem.from_parent(session, name=f"verify_gate[{check}]", nodeid=f"verify_gate[{check}]",
                                          check=check, state=state))


def pytest_report_header(config):
    state = config.stash.get(_KEY, None) if _KEY is not None else None
    if state:
        kind = "stochastic" if state["impl"].stochastic else "deterministic"
        return f"verify gate: {state['spec']} ({kind}), checks: {', '.join(state['checks'])}"
    return None


class GateFailure(Exception):
    """A gate check failed, or the implementation could not be used; the message is the table."""


class GateItem(pytest.Item):
    def __init__(self, *, check: str, state: dict, **kwargs):
        super().__init__(**kwargs)
        self.check = check
        self.state = state
        self.rows = []

    def runtest(self):
        from .checks import format_rows, run_gate

        impl = self.state["impl"]
        self.rows = run_gate(impl, [self.check], context=self.state["context"])
        if any(not r.passed for r in self.rows):
            raise GateFailure(format_rows(self.rows, stochastic=impl.stochastic))

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, GateFailure):
            return f"verify gate {self.state['spec']}: {self.check} failed\n\n{excinfo.value}"
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, None, f"verify gate {self.state['spec']}: {self.check}"
