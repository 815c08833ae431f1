import zoneinfo

from rest_framework import serializers

from flowmart.users.models import User


class MeSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)

    def validate_time_zone(self, value: str) -> str:
        if value not in zoneinfo.available_timezones():
            raise serializers.ValidationError("Not an IANA time zone name (for example Europe/Paris).")
        return value

    class Meta:
        model = User
        fields = ["id", "email", "full_name", "phone", "time_zone", "date_joined"]
        read_only_fields = ["email", "date_joined"]
