from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from flowmart.admin_csv_export import CsvExportAdmin
from flowmart.users.exports import customers_export
from flowmart.users.models import Address, User


class AddressInline(admin.StackedInline):
    model = Address
    ordering = ["-is_default", "-created_at"]
    extra = 0


@admin.register(User)
class UserAdmin(CsvExportAdmin, DjangoUserAdmin):
    csv_export = staticmethod(lambda queryset: customers_export(users=queryset))
    csv_filename = "customers"
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_active", "date_joined"]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups"]
    search_fields = ["email", "full_name"]
    readonly_fields = ["public_id", "date_joined", "last_login"]
    inlines = [AddressInline]
    fieldsets = (
        (None, {"fields": ("email", "password", "public_id")}),
        ("Profile", {"fields": ("full_name", "phone", "time_zone")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
