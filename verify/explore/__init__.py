"""``verify explore``: the studies the paper's summary asks for beyond the theorems.

* :mod:`.noise` -- the noise sweep: t_c against Theorem 2.1's and Theorem 3.1's conditions on t;
* :mod:`.radius` -- the initialization radius from exp(-M0^3) to M0^(1/3): r* and its law;
* :mod:`.step` -- step sizes beyond the theory: eta_max against 2 / lambda_max;
* :mod:`.phase` -- phase diagrams over (radius, t) and (radius, eta).

Machinery: a cell and its row (:mod:`.runner`), the options and budgets (:mod:`.grid`), series and
their refinement in rounds (:mod:`.sweeps`), the cache (:mod:`.cache`), where cells run (local
processes or Dask, :mod:`.executors`), boundaries and the r* law (:mod:`.boundaries`), files
(:mod:`.outputs`), figures (:mod:`.figures`), the end-to-end run (:mod:`.studies`), the command
(:mod:`.command`) and the small-size findings the claims attach (:mod:`.findings`).
"""
