from django.db import models


class Report(models.Model):
    """No table: the holder of the reports' permission (``reports.view_reports``), which the dashboard, the
    reports page, their CSV downloads and the staff API's reports endpoint require."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_reports", "Can view the sales, delivery and service reports")]

    def __str__(self) -> str:
        return "reports"
