"""Training periodic jobs: thin wrappers over services."""
