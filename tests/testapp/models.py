from django.db import models


class Effect(models.Model):
    """One row per time a probe handler's work committed."""

    key = models.CharField(max_length=100, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.key
