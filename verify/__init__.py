"""verify: numerical verification of the claims of arXiv 2511.22069.

"Convergence Dynamics of Over-Parameterized Score Matching for a Single Gaussian"
(Zhang, Xu, Zhou, Fazel, Du).  The model, its exact population loss and
gradient live in :mod:`verify.reference`; gradient descent in
:mod:`verify.dynamics`; the claims of the paper in :mod:`verify.claims`.
"""

__version__ = "0.1.0"
