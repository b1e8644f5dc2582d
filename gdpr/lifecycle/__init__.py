"""Lifecycles every capability shares, each written once: four-eyes approval (`approval.py`) and the
leased job (`leases.py`)."""
