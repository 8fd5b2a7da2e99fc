"""Spare-parts periodic jobs: thin wrappers over services."""
