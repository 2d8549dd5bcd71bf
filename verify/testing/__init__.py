"""Valid inputs for tests: the configuration type and Hypothesis strategies that draw it."""
