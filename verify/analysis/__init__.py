"""The mathematics of the theorems: measured rates, statistics of repeated trials, the collapsed
cluster (Theorems 3.2, 3.4), random initialization far away (Theorems 3.5-3.7) and the
stationary point of Theorem 3.1."""
