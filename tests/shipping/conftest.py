from __future__ import annotations

import pytest

from shipping.demo import seed_demo_shipping
from tests.shipping.easypost_standin import easypost_configured


@pytest.fixture
def rates(db):
    """The demo zones/methods/rates (US/EU/UK/rest; USD)."""
    return seed_demo_shipping(currency="USD")


@pytest.fixture
def easypost(settings):
    """The local EasyPost stand-in, with EASYPOST_* settings pointing at it (live-rate timeout 0.5 s)."""
    with easypost_configured(settings) as standin:
        yield standin
