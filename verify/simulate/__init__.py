"""Gradient descent on the population loss: one loop (:mod:`.descent`) for exact, Monte
Carlo-sampled (:mod:`.monte_carlo`) and user-supplied gradients, and the outcome of a run in the
paper's terms (:mod:`.outcomes`)."""
