"""Lifecycles every capability shares, each written once: four-eyes approval (`approval.py`)."""
