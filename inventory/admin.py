"""Staff screens: catalog, stock per warehouse, adjustments and transfers, the ledger, low stock, CSV."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import models
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from flowmart.admin_inlines import NoteLogInline, TransitionLogInline
from flowmart.errors import FlowMartError
from flowmart.read_only_admin import ReadOnlyAdmin
from flowmart.staff.admin_actions import StaffActionsAdmin
from inventory import csv_io, selectors, services
from inventory.forms import CsvImportForm, StockAdjustmentForm, StockTransferForm
from inventory.models import (
    Category,
    LowStockItem,
    Product,
    ProductImage,
    Reservation,
    ReservationAllocation,
    ReservationNote,
    ReservationTransition,
    Stock,
    StockMovement,
    Variant,
    Warehouse,
)


class CsvAdminMixin:
    """Import / export buttons on a changelist; ``csv_kind`` is "catalog" or "stock"."""

    csv_kind = ""
    change_list_template = "inventory/admin/change_list_csv.html"

    def get_urls(self):
        prefix = f"{self.model._meta.app_label}_{self.model._meta.model_name}"
        return [
            path("import-csv/", self.admin_site.admin_view(self.import_csv_view), name=f"{prefix}_import_csv"),
            path("export-csv/", self.admin_site.admin_view(self.export_csv_view), name=f"{prefix}_export_csv"),
            *super().get_urls(),
        ]

    def export_csv_view(self, request):
        text = csv_io.catalog_export_csv() if self.csv_kind == "catalog" else csv_io.stock_export_csv()
        response = HttpResponse(text, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="flowmart-{self.csv_kind}.csv"'
        return response

    def import_csv_view(self, request):
        if not self.has_change_permission(request):
            return redirect("admin:index")
        form = CsvImportForm(request.POST or None, request.FILES or None)
        errors: list[str] = []
        if request.method == "POST" and form.is_valid():
            try:
                if self.csv_kind == "catalog":
                    result = csv_io.catalog_import_csv(text=form.cleaned_data["file"])
                else:
                    result = csv_io.stock_import_csv(text=form.cleaned_data["file"], by=request.user)
            except csv_io.CsvImportError as exc:
                errors = exc.errors
            else:
                self.message_user(request, f"Imported {self.csv_kind}: {result}.", messages.SUCCESS)
                return redirect(f"admin:{self.model._meta.app_label}_{self.model._meta.model_name}_changelist")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Import {self.csv_kind} CSV",
            "form": form,
            "errors": errors,
            "kind": self.csv_kind,
            "columns": csv_io.CATALOG_COLUMNS if self.csv_kind == "catalog" else csv_io.STOCK_COLUMNS,
        }
        return TemplateResponse(request, "inventory/admin/csv_import.html", context)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    ordering = ["position", "name"]
    list_display = ["name", "slug", "parent", "position"]
    list_filter = ["parent"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def save_model(self, request, obj, form, change):
        old_slug = form.initial.get("slug") if change else None
        super().save_model(request, obj, form, change)
        services.category_catalog_changed(category=obj, old_slug=old_slug)


class VariantInline(admin.TabularInline):
    model = Variant
    ordering = ["position", "id"]
    extra = 0
    fields = ["sku", "name", "options", "price_minor", "currency", "weight_grams", "barcode", "is_active", "position"]


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    ordering = ["position", "id"]
    extra = 0
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(Product)
class ProductAdmin(CsvAdminMixin, admin.ModelAdmin):
    ordering = ["name"]
    csv_kind = "catalog"
    list_display = ["name", "slug", "category", "is_active", "early_access_at", "on_sale_at", "updated_at"]
    list_filter = ["is_active", "category"]
    search_fields = ["name", "slug", "variants__sku", "variants__barcode"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [VariantInline, ProductImageInline]
    list_select_related = ["category"]
    readonly_fields = ["created_at", "updated_at", "early_access_announced_at"]
    fieldsets = [
        (None, {"fields": ["name", "slug", "category", "description", "attributes", "is_active"]}),
        (
            "Launch and members' early access",
            {
                "fields": ["early_access_at", "on_sale_at", "early_access_announced_at"],
                "description": (
                    "Members with early access may buy from the first time, everyone from the second. "
                    "Leave both empty to sell now; set only the second for a launch without early access. "
                    "Members who opted in to new arrivals hear when the early access opens."
                ),
            },
        ),
        (None, {"fields": ["created_at", "updated_at"]}),
    ]

    def save_model(self, request, obj, form, change):
        request._inventory_old = (form.initial.get("slug"), form.initial.get("category")) if change else (None, None)
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        old_slug, old_category_id = getattr(request, "_inventory_old", (None, None))
        old_category = Category.objects.filter(pk=old_category_id).first() if old_category_id else None
        services.product_catalog_changed(product=form.instance, old_slug=old_slug, old_category=old_category)


@admin.register(Warehouse)
class WarehouseAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "priority", "is_active"]
    ordering = ["priority"]


def _warehouse_choices() -> list[tuple[str, str]]:
    return [(w.code, str(w)) for w in Warehouse.objects.filter(is_active=True).order_by("priority")]


@admin.register(Stock)
class StockAdmin(CsvAdminMixin, admin.ModelAdmin):
    """On hand and reserved change only through the ledger (adjust / transfer); the threshold is editable."""

    csv_kind = "stock"
    change_list_template = "inventory/admin/stock_change_list.html"
    list_display = ["sku", "product", "warehouse", "on_hand", "reserved", "available_units", "low_stock_threshold"]
    list_filter = ["warehouse"]
    search_fields = ["variant__sku", "variant__product__name"]
    list_select_related = ["variant__product", "warehouse"]
    fields = ["variant", "warehouse", "on_hand", "reserved", "low_stock_threshold", "ledger_link"]
    readonly_fields = ["variant", "warehouse", "on_hand", "reserved", "ledger_link"]
    ordering = ["variant__sku", "warehouse__priority"]

    def has_add_permission(self, request):
        return False  # rows appear when stock is received

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(ordering="variant__sku", description="SKU")
    def sku(self, obj):
        return obj.variant.sku

    @admin.display(description="Product")
    def product(self, obj):
        return obj.variant.product.name

    @admin.display(description="Available")
    def available_units(self, obj):
        return obj.available

    @admin.display(description="Ledger")
    def ledger_link(self, obj):
        url = reverse("admin:inventory_stockmovement_changelist") + f"?stock__id__exact={obj.pk}"
        return format_html('<a href="{}">Movements of this stock row</a>', url)

    def get_urls(self):
        return [
            path("adjust/", self.admin_site.admin_view(self.adjust_view), name="inventory_stock_adjust"),
            path("transfer/", self.admin_site.admin_view(self.transfer_view), name="inventory_stock_transfer"),
            *super().get_urls(),
        ]

    def _form_view(self, request, *, form_class, title, apply):
        if not request.user.has_perm("inventory.adjust_stock"):  # the Warehouse role (docs/staff.md §Roles)
            return redirect("admin:index")
        form = form_class(request.POST or None, initial=request.GET.dict(), warehouses=_warehouse_choices())
        if request.method == "POST" and form.is_valid():
            try:
                message = apply(form.cleaned_data)
            except FlowMartError as exc:
                form.add_error(None, exc.detail)
            else:
                self.message_user(request, message, messages.SUCCESS)
                return redirect("admin:inventory_stock_changelist")
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "title": title, "form": form}
        return TemplateResponse(request, "inventory/admin/stock_form.html", context)

    def adjust_view(self, request):
        def apply(d):
            services.stock_adjust(
                sku=d["sku"],
                warehouse_code=d["warehouse"],
                quantity=d["quantity"],
                reason=d["reason"],
                note=d["note"],
                by=request.user,
            )
            return f"Adjusted {d['sku']} in {d['warehouse']} by {d['quantity']:+d} ({d['reason']})."

        return self._form_view(request, form_class=StockAdjustmentForm, title="Adjust stock", apply=apply)

    def transfer_view(self, request):
        def apply(d):
            services.stock_transfer(
                sku=d["sku"],
                from_warehouse_code=d["from_warehouse"],
                to_warehouse_code=d["to_warehouse"],
                quantity=d["quantity"],
                note=d["note"],
                by=request.user,
            )
            return f"Moved {d['quantity']} × {d['sku']} from {d['from_warehouse']} to {d['to_warehouse']}."

        return self._form_view(request, form_class=StockTransferForm, title="Transfer stock", apply=apply)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)  # only the threshold is editable here
        services.product_catalog_changed(product=obj.variant.product)


@admin.register(LowStockItem)
class LowStockItemAdmin(ReadOnlyAdmin):
    list_display = ["sku", "product", "warehouse", "on_hand", "reserved", "available_units", "low_stock_threshold"]
    list_filter = ["warehouse"]
    search_fields = ["variant__sku", "variant__product__name"]
    list_display_links = None

    def get_queryset(self, request):
        return selectors.low_stock_queryset()

    @admin.display(description="SKU")
    def sku(self, obj):
        url = reverse("admin:inventory_stock_adjust") + f"?sku={obj.variant.sku}&warehouse={obj.warehouse.code}"
        return format_html('{} (<a href="{}">restock</a>)', obj.variant.sku, url)

    @admin.display(description="Product")
    def product(self, obj):
        return obj.variant.product.name

    @admin.display(description="Available")
    def available_units(self, obj):
        return obj.available


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdmin):
    """The ledger: read-only, by design."""

    ordering = ["-created_at", "-id"]

    list_display = [
        "created_at",
        "sku",
        "warehouse",
        "reason",
        "quantity",
        "on_hand_after",
        "reference",
        "note",
        "created_by",
    ]
    list_filter = ["reason", "stock__warehouse", "created_at"]
    search_fields = ["stock__variant__sku", "reference", "note"]
    list_select_related = ["stock__variant", "stock__warehouse", "created_by"]
    date_hierarchy = "created_at"

    @admin.display(description="SKU", ordering="stock__variant__sku")
    def sku(self, obj):
        return obj.stock.variant.sku

    @admin.display(description="Warehouse")
    def warehouse(self, obj):
        return obj.stock.warehouse.code


class AllocationInline(admin.TabularInline):
    model = ReservationAllocation
    ordering = ["id"]
    extra = 0
    can_delete = False
    readonly_fields = ["stock", "quantity"]

    def has_add_permission(self, request, obj=None):
        return False


class TransitionInline(TransitionLogInline):
    model = ReservationTransition


class NoteInline(NoteLogInline):
    model = ReservationNote


@admin.register(Reservation)
class ReservationAdmin(StaffActionsAdmin, admin.ModelAdmin):
    ordering = ["-created_at", "-id"]
    list_display = ["reference", "state", "expires_at", "created_at"]
    list_filter = ["state"]
    search_fields = ["reference"]
    readonly_fields = ["reference", "state", "expires_at", "created_at", "updated_at"]
    inlines = [AllocationInline, TransitionInline, NoteInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
