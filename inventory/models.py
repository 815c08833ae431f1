"""Tables of the inventory app: used by this app only (other apps go through services/selectors)."""

from django.db import models  # noqa: F401
