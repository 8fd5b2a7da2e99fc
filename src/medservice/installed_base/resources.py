"""This app's records as UI and API resources (registered in core.registry)."""
