"""Models of this app (see the docstring of each)."""
