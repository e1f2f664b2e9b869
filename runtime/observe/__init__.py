"""Watching itself: metric windows, thresholds, consistency validation and the
SAGA-001..004 recursion triggers (issue 7)."""
