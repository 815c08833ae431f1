"""The whole order as a stateful property test: random sequences of what customers, staff, the carrier, the bank
and the sweepers do, against real PostgreSQL, the sandbox gateway and the sandbox carrier, through the real
services; after every step the shop's books must balance (docs/orders.md §The books balance).

The invariants, for every order (``tests/orders/order_books.py`` reads each number from the app that owns it):

* **Money balances.** ``captured - refunded - chargebacks lost + refunds owed = value kept + shipping charged``,
  where *captured* and *refunded* are the sandbox gateway's charges of the order's payments (what really
  moved); *chargebacks lost* is what the bank took back in lost disputes and that no book records as a loss;
  *refunds owed* are refunds the order asked for whose money has not moved (awaiting Finance, rejected or
  failed: the order is on staff's attention list until they are dealt with); *value kept* is, once a parcel of
  the order left the warehouse (settle captures the whole total then), for every unit of its lines not returned
  for a refund, what the customer paid for that unit (its line's total after discount, per unit: a unit sent
  back for an exchange is still kept, its replacement takes its place); *shipping charged* is the order's quoted shipping once a parcel left
  (returns here are partial, so shipping is never due back). A lost dispute: the customer kept the goods and
  the money, so it balances only as a recorded loss.
* **Refunded never exceeds captured** (per order, at the gateway), and the order's own ``captured_minor`` /
  ``refunded_minor`` agree with the gateway.
* **No unit is both shipped and available**, per SKU: units that left the warehouse in a parcel <= units
  taken off the shelf by a sale; units put back by a return <= units that came back.
* **Every stock row's ledger sums to its on-hand**, and its ``reserved`` is what its active reservations hold.
* **Authorizations exist only for live orders** (pending, confirmed, fulfilling, on hold).

Steps run what the worker would run, in process: events delivered and commands (settle, return settlement,
re-reservation, …) run until nothing is left (``deliver_and_run_commands``). Each example runs inside a
savepoint rolled back at its end, so examples start from the same shop.

Known-broken sequences (issue 13; other changes fix them) are kept out of the regular run by the switches on
``OrderBooksMachine``; each has an explicit ``xfail(strict=True)`` test below with the minimal sequence this
machine found. The merger flips a switch once its fix lands (and removes the ``xfail``).

Regular run: ``FLOWMART_STATEFUL_EXAMPLES`` (default 5) examples of up to ``FLOWMART_STATEFUL_STEPS``
(default 12) steps, derandomized. A larger, random run: ``bench/order_books_stateful.sh``.
"""

from __future__ import annotations

import itertools
import os
from datetime import timedelta

import pytest
import redis
import time_machine
from django.conf import settings as django_settings
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from flowmart.errors import FlowMartError
from flowmart.events.testing import deliver_and_run_commands
from inventory import services as inventory_services
from inventory.selectors import available_quantity
from orders import services
from orders.models import AMENDABLE, CANCELLABLE_BY_CUSTOMER, BasketLine, Order, OrderStatus, SagaStatus
from payments import services as payment_services
from payments import webhooks as payment_webhooks
from payments.models import Dispute, Payment, Refund
from shipping import services as shipping_services
from shipping.carriers import TrackingUpdate
from shipping.demo import seed_demo_shipping
from shipping.models import ReturnRequest, Shipment
from shipping.returns import returnable_quantities
from tests.inventory.factories import ProductFactory, VariantFactory, WarehouseFactory
from tests.orders import order_books
from tests.subscriptions.factories import SubscriptionFactory
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db

ADDRESS = {"name": "Casey Customer", "line1": "1 Main Street", "city": "Springfield", "postal_code": "12345",
           "country": "US"}  # fmt: skip
# Two variants of one product at one price (exchanges), and a mug stocked in two warehouses (split parcels).
CATALOG = {"TEE-M": 2000, "TEE-L": 2000, "MUG": 1250}
STOCK = [("TEE-M", "east", 8), ("TEE-L", "east", 3), ("MUG", "east", 3), ("MUG", "west", 3)]
EXCHANGE_FOR = {"TEE-M": "TEE-L", "TEE-L": "TEE-M", "MUG": "MUG"}
APPROVAL_THRESHOLD = 3000  # refunds above it wait for Finance
CARDS = ["pm_card_visa", "pm_card_visa", "pm_card_visa", "pm_card_chargeDeclined"]
_sequence = itertools.count(1)


def shop_create() -> dict:
    """The catalogue, stock, shipping rates and the people: a member (10 % off, free shipping), a customer,
    a Finance approver. Guests check out by email."""
    seed_demo_shipping()
    WarehouseFactory(code="east", name="East", priority=10)
    WarehouseFactory(code="west", name="West", priority=20)
    tee, mug = ProductFactory(name="Tee"), ProductFactory(name="Mug")
    for sku, price in CATALOG.items():
        VariantFactory(sku=sku, price_minor=price, weight_grams=200, product=mug if sku == "MUG" else tee)
    for sku, warehouse, quantity in STOCK:
        inventory_services.stock_receive(sku=sku, warehouse_code=warehouse, quantity=quantity, reference="initial")
    member = UserFactory(email="member@example.com", full_name="Mia Member")
    SubscriptionFactory(user=member)
    finance = UserFactory(email="finance@example.com", is_staff=True)
    finance.groups.add(Group.objects.get_or_create(name="Finance")[0])
    drain()  # the catalogue's own events, once, before the examples' savepoints
    return {
        "member": member,
        "customer": UserFactory(email="casey@example.com", full_name="Casey Customer"),
        "guest": None,
        "finance": finance,
        "staff": UserFactory(email="staff@example.com", is_staff=True),
    }


def drain() -> None:
    deliver_and_run_commands()


def checkout(people: dict, who: str, lines: list[tuple[str, int]], card: str = "pm_card_visa") -> Order | None:
    """A checkout through the orders service, as the API does it; the order, or None when it was refused."""
    user = people[who]
    basket = services.basket_get_or_create(user=user)
    BasketLine.objects.filter(basket=basket).delete()  # whatever a refused checkout left in the basket
    try:
        for sku, quantity in lines:
            services.basket_line_add(basket=basket, sku=sku, quantity=quantity)
        basket = services.basket_get_or_create(user=user, basket_public_id=basket.public_id)  # as the next request
        order = services.checkout_place(
            basket=basket,
            user=user,
            details=services.CheckoutDetails(
                shipping_address=dict(ADDRESS),
                shipping_method="standard",
                payment_method=card,
                email="" if user else "guest@example.com",
            ),
        )
    except FlowMartError as exc:
        assert exc.status < 500, exc
        order = Order.objects.filter(basket_public_id=basket.public_id).order_by("-id").first()
    drain()
    return order


def shipments(order_number: str, *, status=None, kind=None) -> list[Shipment]:
    qs = Shipment.objects.filter(order_number=order_number).order_by("id")
    if status is not None:
        qs = qs.filter(status__in=status if isinstance(status, list | tuple) else [status])
    if kind is not None:
        qs = qs.filter(kind=kind)
    return list(qs)


def label(shipment_number: str) -> None:
    _refusal_allowed(shipping_services.shipment_create_label, shipment_number=shipment_number)
    drain()


def dispatch(shipment_number: str) -> None:
    _refusal_allowed(shipping_services.shipment_dispatch, shipment_number=shipment_number)
    drain()


def deliver(shipment_number: str) -> None:
    """The carrier reports the parcel delivered (a tracking update, as its webhook or the poll records it)."""
    shipment = Shipment.objects.get(number=shipment_number)
    shipping_services.tracking_updates_record(
        tracking_number=shipment.tracking_number,
        updates=[
            TrackingUpdate(
                event_id=f"evt-{shipment.number}-{next(_sequence)}",
                tracking_number=shipment.tracking_number,
                sequence=shipment.last_sequence + 1,
                code="delivered",
                description="Delivered",
                location="Springfield",
                occurred_at=timezone.now(),
            )
        ],
        source="webhook",
    )
    drain()


def return_units(order: Order, *, sku: str, quantity: int, decision: str) -> ReturnRequest | None:
    """The customer returns ``quantity`` of ``sku``; approved, received and inspected (``decision``)."""
    rma = _refusal_allowed(
        shipping_services.return_request,
        order_number=order.number,
        user_id=str(order.user.public_id),
        lines=[{"sku": sku, "quantity": quantity}],
        reason="not what I hoped",
    )
    if rma is None:
        return None
    shipping_services.return_approve(rma_number=rma.rma_number)
    shipping_services.return_receive(
        rma_number=rma.rma_number, decision=decision, replacement_skus={sku: EXCHANGE_FOR[sku]}
    )
    drain()
    return rma


def dispute(order: Order, *, won: bool | None) -> None:
    """The cardholder's bank opens a chargeback on the order's captured charge (``won=None``) or decides it."""
    payment = Payment.objects.filter(reference=order.payment_reference, captured_minor__gt=0).order_by("created_at")[0]
    if won is None:
        payment_webhooks.sandbox_dispute_send(
            charge_id=payment.gateway_ref, event_type="charge.dispute.created", status="needs_response"
        )
    else:
        open_dispute = Dispute.objects.get(payment=payment, status=Dispute.Status.OPEN)
        payment_webhooks.sandbox_dispute_resolve(
            dispute_ref=open_dispute.gateway_ref, charge_id=payment.gateway_ref, won=won
        )
    drain()


def sweep() -> None:
    """Every beat sweeper that touches orders, money or stock, once."""
    inventory_services.stock_reservations_expire()
    drain()
    services.declined_holds_release()
    services.payment_retries_expire()
    services.sagas_sweep()
    services.order_refunds_check()
    payment_services.payments_resume_stuck()
    payment_services.payments_stray_authorizations_void()
    drain()


def _refusal_allowed(command, **kwargs):
    """Run a command; a refusal the caller would see as a 4xx is a legal outcome (None), a 5xx is a bug."""
    try:
        return command(**kwargs)
    except FlowMartError as exc:
        assert exc.status < 500, exc
        return None


def books_problems(*, dispute_loss_recorded_by_payments: bool = True) -> list[str]:
    problems = []
    for order in Order.objects.order_by("id"):
        problems += order_books.money_problems(
            order, dispute_loss_recorded_by_payments=dispute_loss_recorded_by_payments
        )
    return (
        problems
        + order_books.authorization_problems()
        + order_books.stock_ledger_problems()
        + order_books.shipped_and_available_problems()
    )


class OrderBooksMachine(RuleBasedStateMachine):
    """Customers, staff, the carrier, the bank and the sweepers act on a few orders in any legal order."""

    # -- switches for the sequences known broken on today's code (issue 13); True keeps them out of the run ----
    # Holds: shipping ignores an order's hold, so a held order's parcel is labelled and dispatched and
    # `order_mark_shipped` ignores it (no capture, no stock commit). True: no hold after labelling, and no
    # labelling or dispatch while the order is on hold.
    AVOID_SHIPPING_A_HELD_ORDER = False
    # Returns refund the gross unit price: a member (10 % off) gets back more than paid. True: only orders
    # without a discount are returned.
    AVOID_RETURNS_OF_DISCOUNTED_ORDERS = False
    # `_reserve_replacements` swallows InsufficientStock and the replacement ships from someone else's stock.
    # True: an exchange is only asked for while its replacement is available.
    AVOID_EXCHANGE_WITHOUT_STOCK = False
    # A lost chargeback is recorded only by payments (its Dispute row), not as a loss in the order's books.
    # True: the invariant accepts payments' record; False: the order must record it.
    DISPUTE_LOSS_RECORDED_BY_PAYMENTS = False

    def __init__(self):
        super().__init__()
        # One savepoint per example, rolled back in teardown: every example starts from the shop fixture.
        # Marked like the test case's own atomic so adapters' assert_no_transaction() does not count it.
        self._savepoint = transaction.atomic()
        self._savepoint._from_testcase = True
        self._savepoint.__enter__()
        redis.Redis.from_url(
            django_settings.REDIS_URL
        ).flushdb()  # caches (catalogue, availability) of the last example
        self._clock = time_machine.travel(timezone.now(), tick=True)
        self._now = self._clock.start()
        self.people = self.shop
        self.numbers: list[str] = []

    def teardown(self):
        self._clock.stop()
        transaction.set_rollback(True)
        self._savepoint.__exit__(None, None, None)

    # -- helpers -------------------------------------------------------------------------------------------
    def _orders(self, *statuses, **filters) -> list[Order]:
        qs = Order.objects.filter(number__in=self.numbers, **filters).order_by("id")
        if statuses:
            qs = qs.filter(status__in=statuses)
        return list(qs)

    def _labelled_order_numbers(self) -> set[str]:
        return set(
            Shipment.objects.filter(
                order_number__in=self.numbers, kind=Shipment.Kind.ORDER, status__in=Shipment.ACTIVE
            ).values_list("order_number", flat=True)
        )

    def _shipments(self, status) -> list[Shipment]:
        qs = Shipment.objects.filter(order_number__in=self.numbers, status=status).order_by("id")
        if self.AVOID_SHIPPING_A_HELD_ORDER:
            held = [o.number for o in self._orders(OrderStatus.ON_HOLD)]
            qs = qs.exclude(order_number__in=held)
        return list(qs)

    def _returnable(self) -> list[tuple[Order, str, int]]:
        """(order, sku, units returnable) for orders of registered customers with a delivered parcel, no
        dispute, and more than one unit left with the customer (returns here are partial)."""
        found = []
        for order in self._orders(
            OrderStatus.DELIVERED, OrderStatus.COMPLETED, OrderStatus.SHIPPED, user__isnull=False
        ):
            if self.AVOID_RETURNS_OF_DISCOUNTED_ORDERS and order.discount_minor:
                continue
            if Dispute.objects.filter(payment__reference=order.payment_reference).exists():
                continue
            returnable = returnable_quantities(order_number=order.number, user_id=str(order.user.public_id))
            if sum(returnable.values()) < 2:
                continue
            from shipping.models import ShipmentLine

            for line in ShipmentLine.objects.filter(pk__in=[pk for pk, q in returnable.items() if q > 0]):
                found.append((order, line.sku, returnable[line.pk]))
        return found

    # -- rules -----------------------------------------------------------------------------------------------
    @initialize(
        who=st.sampled_from(["member", "customer", "guest"]),
        lines=st.lists(st.tuples(st.sampled_from(sorted(CATALOG)), st.integers(1, 3)), min_size=1, max_size=3),
        progress=st.integers(0, 3),
    )
    def first_order(self, who, lines, progress):
        """Every example starts with one order some way along (0: confirmed … 3: delivered), so that short runs
        reach returns and disputes too."""
        self.checkout(who=who, lines=lines, card="pm_card_visa")
        moves = [(label, Shipment.Status.PENDING), (dispatch, Shipment.Status.LABEL_CREATED)]
        moves.append((deliver, Shipment.Status.DISPATCHED))
        for move, status in moves[:progress] if self.numbers else []:
            for shipment in shipments(self.numbers[0], status=status, kind=Shipment.Kind.ORDER):
                move(shipment.number)

    @precondition(lambda self: len(self.numbers) < 4)
    @rule(
        who=st.sampled_from(["member", "customer", "guest"]),
        lines=st.lists(st.tuples(st.sampled_from(sorted(CATALOG)), st.integers(1, 3)), min_size=1, max_size=3),
        card=st.sampled_from(CARDS),
    )
    def checkout(self, who, lines, card):
        order = checkout(self.people, who, lines, card)
        if order is not None and order.number not in self.numbers:
            self.numbers.append(order.number)

    @precondition(lambda self: self._orders(*AMENDABLE, saga_status=SagaStatus.COMPLETED))
    @rule(data=st.data(), quantity=st.integers(0, 3))
    def amend(self, data, quantity):
        order = data.draw(st.sampled_from(self._orders(*AMENDABLE, saga_status=SagaStatus.COMPLETED)))
        sku = data.draw(st.sampled_from(sorted(line.sku for line in order.lines.all())))
        _refusal_allowed(services.order_amend, order=order, quantities={sku: quantity})
        drain()

    @precondition(lambda self: self._orders(*CANCELLABLE_BY_CUSTOMER))
    @rule(data=st.data(), actor=st.sampled_from(["customer", "staff"]))
    def cancel(self, data, actor):
        order = data.draw(st.sampled_from(self._orders(*CANCELLABLE_BY_CUSTOMER)))
        _refusal_allowed(services.order_cancel, order=order, actor=actor, by=self.people["staff"])
        drain()

    def _holdable(self) -> list[Order]:
        orders = self._orders(OrderStatus.CONFIRMED, OrderStatus.FULFILLING)
        if self.AVOID_SHIPPING_A_HELD_ORDER:
            labelled = self._labelled_order_numbers()
            orders = [o for o in orders if o.number not in labelled]
        return orders

    @precondition(lambda self: self._holdable())
    @rule(data=st.data())
    def hold(self, data):
        order = data.draw(st.sampled_from(self._holdable()))
        _refusal_allowed(services.order_hold, order=order, reason="checking the address", by=self.people["staff"])
        drain()

    @precondition(lambda self: self._orders(OrderStatus.ON_HOLD))
    @rule(data=st.data())
    def release_hold(self, data):
        order = data.draw(st.sampled_from(self._orders(OrderStatus.ON_HOLD)))
        _refusal_allowed(services.order_release_hold, order=order, by=self.people["staff"])
        drain()

    @precondition(lambda self: self._shipments(Shipment.Status.PENDING))
    @rule(data=st.data())
    def label(self, data):
        label(data.draw(st.sampled_from(self._shipments(Shipment.Status.PENDING))).number)

    @precondition(lambda self: self._shipments(Shipment.Status.LABEL_CREATED))
    @rule(data=st.data())
    def dispatch(self, data):
        dispatch(data.draw(st.sampled_from(self._shipments(Shipment.Status.LABEL_CREATED))).number)

    @precondition(lambda self: self._shipments(Shipment.Status.DISPATCHED))
    @rule(data=st.data())
    def deliver(self, data):
        deliver(data.draw(st.sampled_from(self._shipments(Shipment.Status.DISPATCHED))).number)

    @precondition(lambda self: self._returnable())
    @rule(data=st.data(), decision=st.sampled_from(["refund", "refund", "exchange"]))
    def partial_return(self, data, decision):
        order, sku, returnable = data.draw(st.sampled_from(self._returnable()))
        if (
            decision == "exchange"
            and self.AVOID_EXCHANGE_WITHOUT_STOCK
            and available_quantity(sku=EXCHANGE_FOR[sku]) < 1
        ):
            decision = "refund"
        return_units(order, sku=sku, quantity=1, decision=decision)

    def _disputable(self) -> list[Order]:
        return [
            o
            for o in self._orders(OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.COMPLETED)
            if o.captured_minor
            and not Dispute.objects.filter(payment__reference=o.payment_reference).exists()
            and not ReturnRequest.objects.filter(order_number=o.number).exists()
        ]

    @precondition(lambda self: self._disputable())
    @rule(data=st.data())
    def dispute_opened(self, data):
        dispute(data.draw(st.sampled_from(self._disputable())), won=None)

    def _disputed(self) -> list[Order]:
        open_refs = Dispute.objects.filter(status=Dispute.Status.OPEN).values_list("payment__reference", flat=True)
        return [o for o in self._orders() if o.payment_reference in set(open_refs)]

    @precondition(lambda self: self._disputed())
    @rule(data=st.data(), won=st.booleans())
    def dispute_decided(self, data, won):
        dispute(data.draw(st.sampled_from(self._disputed())), won=won)

    def _refunds_waiting(self) -> list[Refund]:
        refs = [f"order:{n}" for n in self.numbers]
        return list(
            Refund.objects.filter(payment__reference__in=refs, status=Refund.Status.PENDING_APPROVAL).order_by("id")
        )

    @precondition(lambda self: self._refunds_waiting())
    @rule(data=st.data(), approve=st.sampled_from([True, True, False]))
    def refund_decided(self, data, approve):
        refund = data.draw(st.sampled_from(self._refunds_waiting()))
        decide = payment_services.refund_approve if approve else payment_services.refund_reject
        decide(refund_id=refund.id, by=self.people["finance"], note="checked")
        drain()

    @rule(days=st.sampled_from([0, 1, 8]))
    def time_passes_and_sweepers_run(self, days):
        """Beat: time moves on (8 days: confirmed orders' reservations expire) and every sweeper runs."""
        if days:
            self._now.shift(timedelta(days=days))
        sweep()

    # -- invariants --------------------------------------------------------------------------------------------
    @invariant()
    def the_books_balance(self):
        problems = books_problems(dispute_loss_recorded_by_payments=self.DISPUTE_LOSS_RECORDED_BY_PAYMENTS)
        assert not problems, "\n".join(problems)


def _hypothesis_settings() -> hypothesis_settings:
    examples = int(os.environ.get("FLOWMART_STATEFUL_EXAMPLES", "5"))
    return hypothesis_settings(
        max_examples=examples,
        stateful_step_count=int(os.environ.get("FLOWMART_STATEFUL_STEPS", "12")),
        deadline=None,
        derandomize=os.environ.get("FLOWMART_STATEFUL_RANDOM", "") == "",
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
        print_blob=True,
    )


@pytest.fixture
def shop_for_books(db, settings):
    settings.PAYMENTS_GATEWAY = "sandbox"
    settings.PAYMENTS_GATEWAY_BACKOFF_SECONDS = 0
    settings.SHIPPING_CARRIER = "sandbox"
    settings.REFUND_APPROVAL_THRESHOLD_MINOR = APPROVAL_THRESHOLD
    return shop_create()


def _machine_with_switches_flipped() -> type[OrderBooksMachine]:
    """``FLOWMART_STATEFUL_FLIP=AVOID_SHIPPING_A_HELD_ORDER,…`` flips those switches: to see whether a known-broken
    sequence still breaks the books (or, after its fix, that it no longer does)."""
    flips = [name for name in os.environ.get("FLOWMART_STATEFUL_FLIP", "").split(",") if name]
    for name in flips:
        assert isinstance(getattr(OrderBooksMachine, name, None), bool), f"no switch {name}"
    return type(
        "OrderBooksMachine", (OrderBooksMachine,), {name: not getattr(OrderBooksMachine, name) for name in flips}
    )


def test_the_books_balance_whatever_happens_to_the_orders(shop_for_books):
    machine = _machine_with_switches_flipped()
    machine.shop = shop_for_books
    run_state_machine_as_test(machine, settings=_hypothesis_settings())


# -- the sequences the machine found broken on today's code (issue 13), minimal, as explicit tests -------------
def _ship_and_deliver(order: Order) -> None:
    for shipment in shipments(order.number, kind=Shipment.Kind.ORDER):
        label(shipment.number)
        dispatch(shipment.number)
        deliver(shipment.number)


def test_hold_a_labelled_order_then_dispatch_keeps_the_books(shop_for_books):
    order = checkout(shop_for_books, "customer", [("TEE-M", 1)])
    [shipment] = shipments(order.number)
    label(shipment.number)
    _refusal_allowed(services.order_hold, order=order, reason="checking the address", by=shop_for_books["staff"])
    drain()
    dispatch(shipment.number)  # the carrier picks the parcel up anyway (or shipping refuses: then nothing left)

    assert books_problems() == []


def test_hold_a_confirmed_order_then_label_and_dispatch_keeps_the_books(shop_for_books):
    """The machine's own minimal sequence (found with the switch flipped, 20 random examples)."""
    order = checkout(shop_for_books, "member", [("MUG", 1)])
    _refusal_allowed(services.order_hold, order=order, reason="checking the address", by=shop_for_books["staff"])
    drain()
    [shipment] = shipments(order.number)
    label(shipment.number)  # shipping does not know about the hold
    dispatch(shipment.number)

    assert books_problems() == []


def test_partial_return_of_a_discounted_member_order_keeps_the_books(shop_for_books):
    order = checkout(shop_for_books, "member", [("TEE-M", 2)])  # 2 × 2000 − 10 % = 3600, free shipping
    _ship_and_deliver(order)
    return_units(order, sku="TEE-M", quantity=1, decision="refund")

    assert books_problems() == []


def test_exchange_whose_replacement_is_sold_out_keeps_the_books(shop_for_books):
    order = checkout(shop_for_books, "customer", [("TEE-M", 2)])
    _ship_and_deliver(order)
    checkout(shop_for_books, "member", [("TEE-L", 3)])  # every TEE-L is reserved for someone else
    return_units(order, sku="TEE-M", quantity=1, decision="exchange")  # TEE-M → TEE-L
    for shipment in shipments(order.number, kind=Shipment.Kind.EXCHANGE):
        label(shipment.number)
        dispatch(shipment.number)

    assert books_problems() == []


def test_lost_dispute_is_a_recorded_loss_in_the_order_books(shop_for_books):
    order = checkout(shop_for_books, "customer", [("TEE-M", 1)])
    _ship_and_deliver(order)
    dispute(order, won=None)
    dispute(order, won=False)

    assert books_problems(dispute_loss_recorded_by_payments=False) == []
