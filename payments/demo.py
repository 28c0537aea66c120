"""Demo fee data for `manage.py seed_demo`."""


def seed_fees(*, stdout=None) -> None:
    """Create the demo term, its fees and a mix of payments. Safe to run twice."""
