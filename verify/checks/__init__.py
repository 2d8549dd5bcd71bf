"""Independent checks of the engine; they reach it only through its public names.

The gradient of Lemma 2.2 / B.1, three independent ways (each check takes the functions it
compares, so the deliberately wrong :data:`verify.checks.variants.wrong_variants` must be
rejected): SymPy (:mod:`.symbolic`), the Stein form against the pathwise form in expectation
(:mod:`.stein`), and finite differences of the loss (:mod:`.finite_differences`); all report
:class:`~verify.checks.compare.Comparison` rows (:mod:`.compare`).

The engine's accuracy: other discretizations of its integrals (:mod:`.grids`: polar and rotated;
:mod:`.line_integrals`: 1-D panels; :mod:`.nested_lines_mp`: the nested rule's level-0 lines against
mpmath), the accuracy report (:mod:`.selfcheck`).  Theorem 3.1's
interval certificate in ball arithmetic (:mod:`.certificate`).  Shared numerics:
:mod:`.richardson`, :mod:`.rotations`.
"""
