import pytest

from tests.subscriptions.factories import PlanFactory, TierFactory


@pytest.fixture
def plus_tier(db):
    return TierFactory(name="Plus", rank=1, free_shipping=True, percent_off=10, early_access=True)


@pytest.fixture
def basic_tier(db):
    return TierFactory(name="Basic", rank=0, free_shipping=True, percent_off=0, early_access=False)


@pytest.fixture
def monthly(plus_tier):
    return PlanFactory(code="plus-monthly", name="FlowMart Plus", tier=plus_tier, price_minor=999, trial_days=0)


@pytest.fixture
def yearly(plus_tier):
    return PlanFactory(
        code="plus-yearly", name="FlowMart Plus Yearly", tier=plus_tier, interval="yearly", price_minor=9900
    )


@pytest.fixture
def trial_plan(plus_tier):
    return PlanFactory(code="plus-trial", name="FlowMart Plus (trial)", tier=plus_tier, price_minor=999, trial_days=14)


@pytest.fixture
def basic(basic_tier):
    return PlanFactory(code="basic-monthly", name="FlowMart Basic", tier=basic_tier, price_minor=499)


@pytest.fixture
def premium(db):
    tier = TierFactory(name="Premium", rank=2, free_shipping=True, percent_off=15, early_access=True)
    return PlanFactory(code="premium-monthly", name="FlowMart Premium", tier=tier, price_minor=1999)


@pytest.fixture(autouse=True)
def _payments_until_it_lands(monkeypatch):
    """Until payments ships its services, stand in for the contract (docs/contracts.md) with the sandbox's cards."""
    import uuid
    from dataclasses import dataclass

    from flowmart.errors import FlowMartError
    from payments import services as payment_services

    if hasattr(payment_services, "payment_charge"):
        yield
        return

    class PaymentDeclined(FlowMartError):
        code = "payment_declined"
        status = 402
        title = "The payment was declined"

    class InvalidPaymentMethod(FlowMartError):
        code = "invalid_payment_method"
        status = 400

    @dataclass
    class Info:
        id: uuid.UUID
        status: str
        token: str = ""
        brand: str = "visa"
        last4: str = "4242"

    seen: dict[str, object] = {}

    def payment_charge(*, reference, amount_minor, currency, payment_method, idempotency_key, customer_email=""):
        if idempotency_key in seen:
            result = seen[idempotency_key]
        elif payment_method.startswith("pm_card_chargeDeclined"):
            result = PaymentDeclined("declined", decline_code="insufficient_funds")
        else:
            result = Info(uuid.uuid4(), "captured")
        seen[idempotency_key] = result
        if isinstance(result, Exception):
            raise result
        return result

    def payment_method_attach(*, user_id, token):
        if not token.startswith("pm_"):
            raise InvalidPaymentMethod("That payment method is not valid.")
        return Info(uuid.uuid4(), "", token=token)

    monkeypatch.setattr(payment_services, "payment_charge", payment_charge, raising=False)
    monkeypatch.setattr(payment_services, "payment_method_attach", payment_method_attach, raising=False)
    yield
