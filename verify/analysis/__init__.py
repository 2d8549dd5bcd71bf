"""The mathematics of the theorems.

* :mod:`.rates`: slopes of log(quantity) against log(tau) and their Richardson limit;
* :mod:`.statistics`: exact binomial bounds of repeated trials;
* :mod:`.large_noise`: Theorem 2.1's regime (condition, step, the cluster's spread);
* :mod:`.cluster`, :mod:`.cluster_runs`: the collapsed cluster of Theorems 3.2 and 3.4 (its
  linearised dynamics and certificate; float64 runs and the empirical boundary); :mod:`.final_phase`:
  the measured decrease that a run to convergence needs;
* :mod:`.random_init`: random initialization far away (Theorems 3.5-3.7);
* :mod:`.stationary`: the stationary point of Theorem 3.1 (path, full space, search, plateau).
"""
