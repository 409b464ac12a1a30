"""Theory: the formulas the chapters test (ODEs of the dynamics, Hessians, GLRL, reduced-rank
regression). Each module computes what a theorem predicts; the chapters measure it."""
