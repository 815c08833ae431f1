from __future__ import annotations

import pytest

from shipping.demo import seed_demo_shipping


@pytest.fixture
def rates(db):
    """The demo zones/methods/rates (US/EU/UK/rest; USD)."""
    return seed_demo_shipping(currency="USD")
