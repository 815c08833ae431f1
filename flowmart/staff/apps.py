from django.apps import AppConfig


class StaffConfig(AppConfig):
    name = "flowmart.staff"
    label = "staff"
    verbose_name = "Staff desk (audit log)"

    def ready(self) -> None:
        # Every app declares its staff actions in staff_actions.py (docs/staff.md §Staff actions).
        from django.utils.module_loading import autodiscover_modules

        autodiscover_modules("staff_actions")
