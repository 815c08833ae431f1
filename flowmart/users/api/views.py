from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions

from flowmart.users.api.serializers import MeSerializer


@extend_schema(tags=["account"])
class MeView(generics.RetrieveUpdateAPIView):
    """The signed-in customer's profile."""

    serializer_class = MeSerializer
    permission_classes = [permissions.IsAuthenticated]
    http_method_names = ["get", "patch"]

    def get_object(self):
        return self.request.user
