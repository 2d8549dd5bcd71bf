"""The interface an outside implementation provides, and the loader that checks it.

An implementation is any object (a module, an instance, or a class that the
gate instantiates without arguments) with

* ``loss(mu, mu_star, t) -> float``: the population loss
  L_t = E_{x ~ N(m*, I_d)} |sum_i w_i(x) m_i - m*|^2, no factor 1/2, with
  m_i = e^{-t} mu_i and m* = e^{-t} mu*;
* ``grad(mu, mu_star, t) -> ndarray (n, d)``: dL_t/dmu_i with respect to the
  *unscaled* means (``verify.engine.reference.grad``; the gradient with respect to
  the scaled means is e^{t} times larger);

with exactly the semantics of :mod:`verify.engine.reference`: ``mu`` is a float64
array of shape (n, d), ``mu_star`` of shape (d,), ``t >= 0`` a float; the
results are float64.  Optional members:

* ``step(mu, mu_star, t, eta) -> new mu``: one gradient-descent step on the
  unscaled means, ``mu - eta * grad(mu, mu_star, t)``; when present the
  dynamics check uses it instead of ``grad``.  (The notes' update on the
  scaled means with step eta equals this update with step eta e^{2t}.)
* ``stochastic = True``: a sample-based implementation; ``loss``, ``grad``
  and ``step`` then accept a keyword ``seed`` (an int) and must be
  reproducible for a fixed seed.  Its tolerances come from its own spread
  over seeds (see :mod:`verify.gate.tolerances`).
* ``loss_avg(mu, mu_star, t_min, t_max, *, weighting) -> float`` and
  ``grad_avg(mu, mu_star, t_min, t_max, *, weighting) -> ndarray (n, d)``, both or
  neither: the time-averaged loss L_bar = integral of lambda(t) L_t dt over
  [t_min, t_max] (lambda normalised to integral 1) and dL_bar/dmu, as
  ``verify.reference.loss_avg``/``grad_avg``; ``weighting`` is ``"uniform"`` or
  ``"noise-variance"`` (lambda proportional to 1 - e^{-2t}), passed by keyword;
* ``loss_mix(mu, mu_stars, weights, t) -> float`` and
  ``grad_mix(mu, mu_stars, weights, t) -> ndarray (n, d)``, both or neither: the
  loss against the mixture sum_k pi_k N(e^{-t} mu*_k, I) (no factor 1/2) and its
  gradient with respect to the unscaled means, as ``verify.reference.loss_mix``/
  ``grad_mix``; ``mu_stars`` (K, d), ``weights`` (K,) summing to 1.

An implementation without an optional pair is gated exactly as before: the rows
of that objective say "not offered".

:func:`load_implementation` resolves ``MODULE:ATTR`` (or ``MODULE``) and
returns a :class:`Bound` wrapper whose calls validate every result: a result
of the wrong type, shape or dtype (float32 included) raises
:class:`ImplementationError` (exit status 2); a NaN or infinite value of the
right type and shape is returned as it is and counted as a wrong answer by
the checks (exit status 1).
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import traceback
from typing import Protocol, runtime_checkable

import numpy as np

from . import foreign
from .results import ImplementationError, _snippet, as_array, as_loss

__all__ = [
    "Implementation",
    "SteppingImplementation",
    "StochasticImplementation",
    "AveragedImplementation",
    "MixtureImplementation",
    "OPTIONAL_PAIRS",
    "ImplementationError",
    "LoadError",
    "Bound",
    "load_implementation",
    "bind",
]


@runtime_checkable
class Implementation(Protocol):
    """What ``verify gate MODULE:ATTR`` checks (see the module docstring)."""

    def loss(self, mu: np.ndarray, mu_star: np.ndarray, t: float) -> float:
        """L_t at unscaled means ``mu`` (n, d), ground truth ``mu_star`` (d,), noise level ``t``."""
        ...

    def grad(self, mu: np.ndarray, mu_star: np.ndarray, t: float) -> np.ndarray:
        """dL_t/dmu, shape (n, d), float64 (with respect to the unscaled means)."""
        ...


@runtime_checkable
class SteppingImplementation(Implementation, Protocol):
    """An implementation of a training step; the dynamics check then uses ``step``."""

    def step(self, mu: np.ndarray, mu_star: np.ndarray, t: float, eta: float) -> np.ndarray:
        """One gradient-descent step on the unscaled means: ``mu - eta * grad(mu, mu_star, t)``."""
        ...


class StochasticImplementation(Implementation, Protocol):
    """A sample-based implementation: ``stochastic = True`` and a ``seed`` keyword on every method."""

    stochastic: bool

    def loss(self, mu: np.ndarray, mu_star: np.ndarray, t: float, *, seed: int = 0) -> float: ...

    def grad(self, mu: np.ndarray, mu_star: np.ndarray, t: float, *, seed: int = 0) -> np.ndarray: ...


@runtime_checkable
class AveragedImplementation(Protocol):
    """The optional time-averaged objective (``verify.reference.loss_avg``/``grad_avg``)."""

    def loss_avg(self, mu: np.ndarray, mu_star: np.ndarray, t_min: float, t_max: float, *,
                 weighting: str) -> float: ...

    def grad_avg(self, mu: np.ndarray, mu_star: np.ndarray, t_min: float, t_max: float, *,
                 weighting: str) -> np.ndarray: ...


@runtime_checkable
class MixtureImplementation(Protocol):
    """The optional mixture objective (``verify.reference.loss_mix``/``grad_mix``)."""

    def loss_mix(self, mu: np.ndarray, mu_stars: np.ndarray, weights: np.ndarray, t: float) -> float: ...

    def grad_mix(self, mu: np.ndarray, mu_stars: np.ndarray, weights: np.ndarray, t: float) -> np.ndarray: ...


#: the optional objectives: name -> (loss method, gradient method); offered only as a pair
OPTIONAL_PAIRS = {"averaged": ("loss_avg", "grad_avg"), "mixture": ("loss_mix", "grad_mix")}


class LoadError(Exception):
    """The implementation cannot be loaded (import, attribute, interface): exit status 2."""


class Bound:
    """An implementation with validated calls.

    ``loss``/``grad``/``step`` pass fresh float64 copies of the inputs (an
    implementation that writes into its arguments cannot corrupt the gate),
    add ``seed=`` for stochastic implementations, and check the result.  With a
    ``worker`` (:class:`verify.gate.worker.Worker`) each call runs in that process
    under its time limit and may raise :class:`verify.gate.worker.CallTimedOut`.
    """

    def __init__(self, obj, spec: str, worker=None):
        self.obj = obj
        self.spec = spec
        self.stochastic = bool(getattr(obj, "stochastic", False))
        self.has_step = callable(getattr(obj, "step", None))
        self.offers = {k for k, (lm, gm) in OPTIONAL_PAIRS.items() if callable(getattr(obj, lm, None))}
        self.worker = worker

    @property
    def time_limit(self) -> float | None:
        return None if self.worker is None else self.worker.limit

    def close(self) -> None:
        """End the worker process, if any."""
        if self.worker is not None:
            self.worker.close()
            self.worker = None

    # -- calls --------------------------------------------------------------
    def _call(self, name, mu, mu_star, t, *extra, seed=None):
        mu = np.array(mu, dtype=np.float64)
        mu_star = np.array(mu_star, dtype=np.float64)
        t = float(t)
        seed_txt = f", seed={int(seed or 0)}" if self.stochastic else ""
        what = f"{self.spec}.{name}(mu, mu_star, t{', eta' if extra else ''}{seed_txt})"

        def config():
            return _snippet(mu, mu_star, t, extra=(f"eta = {extra[0]!r}\n" if extra else ""))

        return self._invoke(name, (mu, mu_star, t, *extra), {}, what, config, seed)

    def _invoke(self, name, args, kwargs, what, config, seed):
        """``obj.name(*args, **kwargs)`` (array arguments copied; ``seed=`` added when stochastic), in the
        worker if any; a call that raises becomes :class:`ImplementationError` with ``config()``."""
        kwargs = dict(kwargs, **({"seed": int(seed or 0)} if self.stochastic else {}))
        fresh = lambda: tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)  # noqa: E731
        if self.worker is not None:
            status, payload = self.worker.call(name, fresh(), kwargs, what)
            if status == "ok":
                return payload
            if status == "unsendable":
                raise ImplementationError(f"{what} returned a {payload} that cannot be passed back to the gate; "
                                          f"return a float or a numpy array", config=config())
            kind, message, tail = payload
            raise ImplementationError(f"{what} raised {kind}: {message}", config=config(), detail=tail or None)
        try:
            return getattr(self.obj, name)(*fresh(), **kwargs)
        except foreign.FAILURES as exc:  # foreign code's failure (sys.exit() included) is reported, not re-raised
            frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != __file__]
            tail = "".join(traceback.format_list(frames[-2:])) + "".join(
                traceback.format_exception_only(type(exc), exc))
            kind, message = foreign.describe(exc)
            raise ImplementationError(f"{what} raised {kind}: {message}", config=config(), detail=tail) from None

    def loss(self, mu, mu_star, t, *, seed=None) -> float:
        out = self._call("loss", mu, mu_star, t, seed=seed)
        return as_loss(out, self.spec, mu, mu_star, t)

    def grad(self, mu, mu_star, t, *, seed=None) -> np.ndarray:
        out = self._call("grad", mu, mu_star, t, seed=seed)
        n, d = np.shape(mu)
        return as_array(out, (n, d), f"{self.spec}.grad", mu, mu_star, t)

    def step(self, mu, mu_star, t, eta, *, seed=None) -> np.ndarray:
        if not self.has_step:
            g = self.grad(mu, mu_star, t, seed=seed)
            return np.asarray(mu, dtype=np.float64) - eta * g
        out = self._call("step", mu, mu_star, t, float(eta), seed=seed)
        n, d = np.shape(mu)
        return as_array(out, (n, d), f"{self.spec}.step", mu, mu_star, t)


    # -- the optional objectives (only when offered: see ``offers``) ---------------------------
    def _objective(self, name, args, kwargs, config, seed, scalar: bool, n_d):
        arg_txt = "mu, mu_star, t_min, t_max, weighting=..." if name.endswith("_avg") else "mu, mu_stars, weights, t"
        what = f"{self.spec}.{name}({arg_txt}{f', seed={int(seed or 0)}' if self.stochastic else ''})"
        out = self._invoke(name, args, kwargs, what, config, seed)
        if scalar:
            return as_loss(out, self.spec, None, None, None, where=f"{self.spec}.{name}", config=config)
        return as_array(out, n_d, f"{self.spec}.{name}", None, None, None, config=config)

    def loss_avg(self, mu, mu_star, t_min, t_max, weighting, *, config, seed=None) -> float:
        args = (np.array(mu, dtype=np.float64), np.array(mu_star, dtype=np.float64), float(t_min), float(t_max))
        return self._objective("loss_avg", args, {"weighting": weighting}, config, seed, True, None)

    def grad_avg(self, mu, mu_star, t_min, t_max, weighting, *, config, seed=None) -> np.ndarray:
        args = (np.array(mu, dtype=np.float64), np.array(mu_star, dtype=np.float64), float(t_min), float(t_max))
        return self._objective("grad_avg", args, {"weighting": weighting}, config, seed, False, np.shape(mu))

    def loss_mix(self, mu, mu_stars, weights, t, *, config, seed=None) -> float:
        args = tuple(np.array(a, dtype=np.float64) for a in (mu, mu_stars, weights)) + (float(t),)
        return self._objective("loss_mix", args, {}, config, seed, True, None)

    def grad_mix(self, mu, mu_stars, weights, t, *, config, seed=None) -> np.ndarray:
        args = tuple(np.array(a, dtype=np.float64) for a in (mu, mu_stars, weights)) + (float(t),)
        return self._objective("grad_mix", args, {}, config, seed, False, np.shape(mu))


def _accepts_seed(fn) -> bool:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # builtins without a signature: trust them
        return True
    return "seed" in sig.parameters or any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())


def bind(obj, spec: str = "implementation") -> Bound:
    """Check the interface of ``obj`` (instantiating a class) and wrap it; raises :class:`LoadError`."""
    if inspect.isclass(obj):
        try:
            obj = obj()
        except foreign.FAILURES as exc:  # foreign code's constructor: any failure is a load error
            raise LoadError(f"{spec} is a class, and instantiating it without arguments raised "
                            "{}: {}".format(*foreign.describe(exc))) from None
    missing = [name for name in ("loss", "grad") if not callable(getattr(obj, name, None))]
    if missing:
        what = "neither a callable loss nor a callable grad" if len(missing) == 2 else f"no callable {missing[0]}"
        present = [m for m in ("loss", "grad", "step") if hasattr(obj, m)]
        raise LoadError(
            f"{spec} ({type(obj).__name__}) has {what}; an implementation needs "
            f"loss(mu, mu_star, t) -> float and grad(mu, mu_star, t) -> (n, d) array"
            + (f" (found: {', '.join(present)})" if present else "")
        )
    for objective, pair in OPTIONAL_PAIRS.items():
        found = [m for m in pair if callable(getattr(obj, m, None))]
        if len(found) == 1:
            other = pair[1 - pair.index(found[0])]
            raise LoadError(f"{spec} has {found[0]} but no callable {other}; the {objective} objective is offered "
                            f"as the pair {pair[0]}/{pair[1]} or not at all (docs/gate.md)")
    if hasattr(obj, "step") and not callable(obj.step):
        raise LoadError(f"{spec}.step exists but is not callable; remove it or make it step(mu, mu_star, t, eta)")
    stochastic = getattr(obj, "stochastic", False)
    if not isinstance(stochastic, (bool, np.bool_)):
        raise LoadError(f"{spec}.stochastic must be True or False, got {stochastic!r}")
    if stochastic:
        offered = tuple(m for pair in OPTIONAL_PAIRS.values() for m in pair if callable(getattr(obj, m, None)))
        for name in ("loss", "grad") + (("step",) if hasattr(obj, "step") else ()) + offered:
            if not _accepts_seed(getattr(obj, name)):
                raise LoadError(f"{spec} says stochastic = True but {name}() takes no 'seed' keyword; "
                                f"a sample-based implementation must accept seed=<int> and be reproducible for it")
    return Bound(obj, spec)


def load_implementation(spec: str) -> Bound:
    """Resolve ``MODULE:ATTR`` (ATTR may be dotted) or ``MODULE`` and check its interface.

    The current directory is put on ``sys.path`` (as ``python -m`` does), so a
    local ``my_impl.py`` is found as ``my_impl:Impl``.  Raises :class:`LoadError`
    with a message that says what is wrong and how to fix it.  To run the calls in a worker
    process with a time limit: :func:`verify.gate.worker.start_worker`.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise LoadError("give the implementation as MODULE:ATTR, e.g. mypackage.score:Implementation")
    module_name, _, attr = spec.strip().partition(":")
    if not module_name:
        raise LoadError(f"{spec!r}: no module before ':'; give it as MODULE:ATTR")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise LoadError(f"cannot import {module_name!r}: no module named {exc.name!r} "
                            f"(is it installed, or is the current directory the one that contains it?)") from None
        raise LoadError(f"importing {module_name!r} failed: {type(exc).__name__}: {exc}") from None
    except foreign.FAILURES as exc:  # foreign module code: an import that raises (or exits) is a load error
        where = traceback.extract_tb(exc.__traceback__)[-1]
        raise LoadError("importing {!r} raised {}: {} ".format(module_name, *foreign.describe(exc))
                        + f"(at {where.filename}:{where.lineno})") from None
    obj = module
    if attr:
        for part in attr.split("."):
            if not hasattr(obj, part):
                names = sorted(n for n in dir(obj) if not n.startswith("_"))
                raise LoadError(f"{module_name!r} has no attribute {attr!r} (failed at {part!r}); "
                                f"public names: {', '.join(names[:20])}{' ...' if len(names) > 20 else ''}")
            obj = getattr(obj, part)
    return bind(obj, spec.strip())
