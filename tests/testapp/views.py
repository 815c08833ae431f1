import threading

from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from flowmart.api.idempotency import idempotent
from flowmart.errors import FlowMartError
from tests.testapp.models import Effect

# Tests hold a request "in flight" by clearing this gate.
in_flight_gate = threading.Event()
in_flight_gate.set()
in_flight_started = threading.Event()


class ChargeInput(serializers.Serializer):
    key = serializers.CharField(max_length=50)
    amount_minor = serializers.IntegerField(min_value=1)


class PaymentDeclined(FlowMartError):
    code = "payment_declined"
    status = 402
    title = "Payment declined"


class ChargeView(APIView):
    """Spends "money" once per call: an Effect row per charge."""

    permission_classes = [AllowAny]

    @idempotent
    def post(self, request):
        data = ChargeInput(data=request.data)
        data.is_valid(raise_exception=True)
        in_flight_started.set()
        in_flight_gate.wait(timeout=30)
        key = data.validated_data["key"]
        if key == "decline":
            raise PaymentDeclined("Card declined by the issuer.")
        if key == "explode":
            raise RuntimeError("server fault")
        effect = Effect.objects.create(key=key)
        return Response(
            {"charge": effect.pk, "amount_minor": data.validated_data["amount_minor"]},
            status=status.HTTP_201_CREATED,
            headers={"Location": f"/charges/{effect.pk}"},
        )
