import pytest

from payments.tests.builders import current_term


@pytest.fixture
def billed_term(students):
    """The active term, fee 120.00, billed to `students`."""
    return current_term(billed=True)
