"""Random orthogonal maps: the one helper for the rotated checks (the engine on a rotated node
set, the full gradient of Theorem 3.1 in a rotated frame, the gate's invariance check)."""

from __future__ import annotations

import numpy as np

__all__ = ["random_rotation"]


def random_rotation(d: int, rng, *, proper: bool = False) -> np.ndarray:
    """A Haar-distributed orthogonal d x d matrix drawn from ``rng`` (a numpy Generator or a seed).

    Q from the QR factorization of a standard Gaussian matrix, with the signs of R's diagonal
    moved into Q (which makes Q Haar-distributed).  ``proper=True``: a rotation (det +1; column
    0 is flipped when needed).  d = 1 without ``proper``: the reflection -1, drawing nothing
    (the only orthogonal map of the line other than the identity).
    """
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
        raise ValueError(f"d must be a positive int, got {d!r}")
    if d == 1 and not proper:
        return -np.eye(1)
    rng = np.random.default_rng(rng)
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    q = q * np.sign(np.diag(r))
    if proper and np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q
