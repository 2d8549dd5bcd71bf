"""Independent checks of the engine: SymPy derivations, finite differences, the Stein form,
other discretizations (polar and rotated grids), the interval certificate of Theorem 3.1 and the
engine's accuracy report.  They reach the engine only through its public names."""
