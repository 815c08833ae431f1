"""``/api/v1/`` endpoints of the orders app: basket, checkout, orders. Thin: parse, call a service, render."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, permissions, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from flowmart.api.idempotency import idempotency_scope, idempotent
from flowmart.api.schema import problem
from flowmart.errors import FlowMartError
from flowmart.guest_orders import guest_order_numbers, guest_order_remember
from orders import selectors, services
from orders.api import serializers as s
from orders.models import Order, OrderStatus
from orders.signals import SESSION_BASKET_KEY


def _session(request):
    return request._request.session


BASKET_TOKEN_HEADER = "X-Basket-Token"  # noqa: S105 - a header name


def _guest_basket_id(request) -> str | None:
    """A guest's basket: the one its ``X-Basket-Token`` names (apps without cookies), else its session's."""
    token = request.headers.get(BASKET_TOKEN_HEADER)
    if token:
        return services.basket_id_from_token(token)
    return _session(request).get(SESSION_BASKET_KEY)


def _basket(request, *, create: bool = True):
    basket_id = None if request.user.is_authenticated else _guest_basket_id(request)
    if not create:
        return services.basket_find(user=request.user, basket_public_id=basket_id)
    basket = services.basket_get_or_create(user=request.user, basket_public_id=basket_id)
    if not request.user.is_authenticated and not request.headers.get(BASKET_TOKEN_HEADER):
        _session(request)[SESSION_BASKET_KEY] = str(basket.public_id)
    return basket


def _basket_response(request, *, basket=None, status_code: int = 200) -> Response:
    """The basket as the caller sees it; a guest's answer carries its ``X-Basket-Token``."""
    basket = basket if basket is not None else _basket(request)
    response = Response(s.BasketOutSerializer(services.basket_view(basket=basket)).data, status=status_code)
    if not request.user.is_authenticated:
        response[BASKET_TOKEN_HEADER] = services.basket_token(basket=basket)
    return response


BASKET_TOKEN_PARAMETER = OpenApiParameter(
    BASKET_TOKEN_HEADER,
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Guests without a session cookie (native apps): the token the first basket response returned "
    "in its X-Basket-Token header. Customers (bearer token or session) do not need it.",
)
BASKET_TOKEN_RESPONSE_HEADER = OpenApiParameter(
    BASKET_TOKEN_HEADER,
    str,
    OpenApiParameter.HEADER,
    description="Guests only: the token naming this basket; send it back on every basket and checkout call",
)


@extend_schema(tags=["basket"], parameters=[BASKET_TOKEN_PARAMETER])
class BasketView(APIView):
    """The caller's basket (customer: by account; guest: by X-Basket-Token or session), re-priced and re-checked.

    Reading creates nothing: a caller without a basket gets an empty one with ``id: null`` (and no token)."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(
        responses={
            200: OpenApiResponse(s.BasketOutSerializer, description="the basket (empty, id null, if none yet)"),
            400: problem("basket_token_invalid"),
        }
    )
    def get(self, request):
        basket = _basket(request, create=False)
        if basket is None:
            return Response(s.BasketOutSerializer(services.basket_view_empty()).data)
        return _basket_response(request, basket=basket)


# What a checkout (and a payment retry, which runs the same saga) can answer besides the order.
CHECKOUT_PROBLEMS = {
    400: problem(
        "checkout_invalid (errors; and its codes invalid_payment_method, account_inactive), basket_empty, "
        "total_mismatch",
        s.CheckoutProblemOutSerializer,
    ),
    402: problem("payment_declined (order_number, decline_code)", s.CheckoutProblemOutSerializer),
    409: problem(
        "insufficient_stock (shortages), basket_changed, checkout_in_progress, not_on_sale_yet (skus, on_sale_at), "
        "payment_abandoned, gateway_refused, idempotency_key_in_flight (the first request has not created its "
        "order yet)",
        s.CheckoutProblemOutSerializer,
    ),
    422: problem("idempotency_key_reused", s.CheckoutProblemOutSerializer),
    429: problem("throttled (retry_after)"),
    503: problem("gateway_unavailable: nothing charged; a retry runs again", s.CheckoutProblemOutSerializer),
}


@extend_schema(tags=["basket"], parameters=[BASKET_TOKEN_PARAMETER])
class BasketLinesView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        request=s.BasketLineAddInSerializer,
        responses={
            201: s.BasketOutSerializer,
            400: problem("invalid (errors), unknown_sku, quantity_not_allowed"),
            409: problem("insufficient_stock, not_on_sale_yet (skus, on_sale_at)", s.CheckoutProblemOutSerializer),
        },
    )
    def post(self, request):
        data = s.BasketLineAddInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.basket_line_add(basket=_basket(request), **data.validated_data)
        return _basket_response(request, status_code=status.HTTP_201_CREATED)


@extend_schema(tags=["basket"], parameters=[BASKET_TOKEN_PARAMETER])
class BasketLineView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(request=s.BasketLineUpdateInSerializer, responses=s.BasketOutSerializer)
    def patch(self, request, line_id: int):
        data = s.BasketLineUpdateInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.basket_line_update(basket=_basket(request), line_id=line_id, **data.validated_data)
        return _basket_response(request)

    @extend_schema(responses=s.BasketOutSerializer)
    def delete(self, request, line_id: int):
        services.basket_line_remove(basket=_basket(request), line_id=line_id)
        return _basket_response(request)


def _checkout_recover(view, request):
    """A retry of a checkout whose first request is still running or died: the order it created, if any."""
    order = selectors.order_for_checkout_key(request_key=idempotency_scope(request))
    if order is None:
        return None
    try:
        return _checkout_response(request, services.checkout_outcome(order=order))
    except FlowMartError as exc:
        _remember_guest_order(request, order.number)
        return view.handle_exception(exc)


def _checkout_response(request, order) -> Response:
    """201 with the order once its checkout went through, 202 while its saga is still running."""
    _remember_guest_order(request, order.number)
    return Response(
        s.OrderOutSerializer(order).data,
        status=status.HTTP_202_ACCEPTED if order.status == OrderStatus.PENDING else status.HTTP_201_CREATED,
        headers={"Location": f"/api/v1/orders/{order.number}/"},
    )


@extend_schema(
    tags=["checkout"],
    parameters=[
        OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False),
        BASKET_TOKEN_PARAMETER,
    ],
)
class CheckoutView(APIView):
    """Check out the caller's basket. 201 with the order; 402 declined, 409 stock, basket intact on failure.

    With an ``Idempotency-Key`` the order is bound to the key when it is created: a retry answers with that
    order whatever happened to the first response (202 while its saga is still running, 201 once confirmed,
    or the error the checkout ended with)."""

    permission_classes = [permissions.AllowAny]
    throttle_scope = "checkout"

    @extend_schema(
        request=s.CheckoutInSerializer,
        responses={
            201: s.OrderOutSerializer,
            202: OpenApiResponse(
                s.OrderOutSerializer,
                description="a retry with the same Idempotency-Key while the order it created is still being "
                "placed (status pending): retry again for the outcome",
            ),
            **CHECKOUT_PROBLEMS,
        },
    )
    @idempotent(recover=_checkout_recover)
    def post(self, request):
        data = s.CheckoutInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            order = services.checkout_place(
                basket=_basket(request),
                user=request.user,
                details=services.CheckoutDetails(**data.validated_data),
                request_key=idempotency_scope(request),
            )
        except FlowMartError as exc:
            if exc.extra.get("order_number"):  # a declined guest may retry the payment of that order
                _remember_guest_order(request, exc.extra["order_number"])
            raise
        return _checkout_response(request, order)


def _remember_guest_order(request, number: str) -> None:
    if not request.user.is_authenticated:
        guest_order_remember(_session(request), number)


def _own_order(request, number: str):
    if request.user.is_authenticated:
        order = selectors.order_get_for_user(number=number, user=request.user)
    else:
        order = selectors.order_get_for_guest(number=number, order_numbers=guest_order_numbers(_session(request)))
    if order is None:
        raise NotFound("No such order.")
    return order


@extend_schema(tags=["orders"])
class OrderListView(generics.ListAPIView):
    serializer_class = s.OrderSummaryOutSerializer
    permission_classes = [permissions.IsAuthenticated]
    filterset_fields = ["status"]
    ordering_fields = ["placed_at", "total_minor"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Order.objects.none()
        return selectors.order_list_for_user(user=self.request.user)


@extend_schema(tags=["orders"])
class OrderDetailView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(responses=s.OrderDetailOutSerializer)
    def get(self, request, number: str):
        return Response(s.OrderDetailOutSerializer(_own_order(request, number)).data)


@extend_schema(tags=["orders"])
class OrderCancelView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(request=s.OrderCancelInSerializer, responses=s.OrderOutSerializer)
    @idempotent
    def post(self, request, number: str):
        data = s.OrderCancelInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order = services.order_cancel(
            order=_own_order(request, number), by=request.user, actor="customer", reason=data.validated_data["reason"]
        )
        return Response(s.OrderOutSerializer(order).data)


@extend_schema(tags=["orders"])
class OrderExchangeView(APIView):
    """Ask to exchange delivered items for another variant of the same product."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        request=s.ExchangeInSerializer,
        responses={
            201: s.ExchangeOutSerializer,
            400: problem(
                "invalid (errors); return_not_allowed: exchange_variant_invalid, "
                "not_delivered, return_window_closed, return_quantity_exceeded, return_reason_required"
            ),
            401: problem("not_authenticated"),
            404: problem("not_found / order_not_found: not an order of yours"),
        },
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)],
    )
    @idempotent
    def post(self, request, number: str):
        data = s.ExchangeInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rma = services.order_exchange_request(
            order=_own_order(request, number),
            user_id=str(request.user.public_id),
            lines=data.validated_data["lines"],
            reason=data.validated_data["reason"],
            reason_code=data.validated_data["reason_code"],
            by=request.user,
        )
        return Response(s.ExchangeOutSerializer(rma).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["orders"])
class OrderAmendView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(request=s.AmendInSerializer, responses=s.OrderOutSerializer)
    @idempotent
    def post(self, request, number: str):
        data = s.AmendInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        quantities = {line["sku"]: line["quantity"] for line in data.validated_data["lines"]}
        order = services.order_amend(
            order=_own_order(request, number),
            quantities=quantities,
            shipping_address=data.validated_data.get("shipping_address"),
            by=request.user,
        )
        return Response(s.OrderOutSerializer(order).data)


@extend_schema(tags=["orders"])
class OrderPaymentRetryView(APIView):
    permission_classes = [permissions.AllowAny]
    throttle_scope = "checkout"

    @extend_schema(
        request=s.PaymentRetryInSerializer,
        responses={200: s.OrderOutSerializer, 404: problem("not_found: not an order of yours"), **CHECKOUT_PROBLEMS},
    )
    @idempotent
    def post(self, request, number: str):
        data = s.PaymentRetryInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order = services.order_payment_retry(
            order=_own_order(request, number), payment_method=data.validated_data["payment_method"], by=request.user
        )
        return Response(s.OrderOutSerializer(order).data)
