"""verify: numerical verification of the claims of arXiv 2511.22069.

"Convergence Dynamics of Over-Parameterized Score Matching for a Single Gaussian"
(Zhang, Xu, Zhou, Fazel, Du).  The model, its exact population loss and
gradient live in :mod:`verify.engine` (public API :mod:`verify.engine.reference`); gradient
descent and the outcome of a run in :mod:`verify.simulate`; the claims of the paper in
:mod:`verify.claims`.  The folders are layers: engine, testing, simulate, checks, analysis,
claims, gate, report (each imports only from those before it).
"""

__version__ = "0.1.0"
