"""Staff screens: rates, shipments (pick lists, packing slips, labels, tracking history), returns; dispatch,
cancel, approve, reject and receive are staff actions (shipping/staff_actions.py)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import F
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html_join

from flowmart.admin_csv_export import CsvExportAdmin
from flowmart.admin_inlines import ReadOnlyInline, TransitionLogInline
from flowmart.staff.admin_actions import StaffActionsAdmin
from shipping import exports, selectors
from shipping.models import (
    DeliveryFailure,
    ReturnLine,
    ReturnRequest,
    ReturnTransition,
    Shipment,
    ShipmentLine,
    ShipmentTransition,
    ShippingMethod,
    ShippingRate,
    ShippingZone,
    TrackingEvent,
)

# --- rates ----------------------------------------------------------------------------------


class ShippingMethodInline(admin.TabularInline):
    model = ShippingMethod
    ordering = ["sort_order", "code"]
    extra = 0
    fields = ["code", "name", "currency", "min_days", "max_days", "free_over_minor", "is_active"]
    show_change_link = True


@admin.register(ShippingZone)
class ShippingZoneAdmin(admin.ModelAdmin):
    ordering = ["sort_order", "code"]
    list_display = ["code", "name", "country_list", "sort_order"]
    inlines = [ShippingMethodInline]

    @admin.display(description="Countries")
    def country_list(self, obj):
        return ", ".join(obj.countries)


class ShippingRateInline(admin.TabularInline):
    model = ShippingRate
    ordering = [F("max_weight_grams").asc(nulls_last=True), "min_subtotal_minor"]
    extra = 1


@admin.register(ShippingMethod)
class ShippingMethodAdmin(admin.ModelAdmin):
    ordering = ["zone__sort_order", "zone__code", "sort_order", "code"]
    list_display = [
        "code",
        "name",
        "zone",
        "currency",
        "min_days",
        "max_days",
        "free_over_minor",
        "carrier",
        "live_rates",
        "is_active",
    ]
    list_filter = ["zone", "code", "carrier", "is_active"]
    inlines = [ShippingRateInline]


# --- shipments ----------------------------------------------------------------------------------


class ShipmentLineInline(ReadOnlyInline):
    model = ShipmentLine
    fields = ["sku", "name", "quantity", "unit_price_minor", "weight_grams"]
    readonly_fields = fields


class ShipmentTransitionInline(TransitionLogInline):
    model = ShipmentTransition
    verbose_name_plural = "State log"


class TrackingEventInline(ReadOnlyInline):
    model = TrackingEvent
    ordering = ["sequence"]
    verbose_name_plural = "Tracking history (carrier)"
    fields = ["sequence", "occurred_at", "code", "description", "location", "source", "applied_at"]
    readonly_fields = fields


class DeliveryFailureInline(ReadOnlyInline):
    model = DeliveryFailure
    fields = [
        "attempt",
        "failed_at",
        "reason",
        "estimated_delivery_date",
        "instruction",
        "instruction_sent_at",
        "instruction_error",
    ]
    ordering = ["attempt"]


@admin.register(Shipment)
class ShipmentAdmin(StaffActionsAdmin, admin.ModelAdmin):
    ordering = ["-created_at", "number"]
    list_display = ["number", "order_number", "kind", "warehouse_code", "status", "tracking_number", "created_at"]
    list_filter = ["status", "warehouse_code", "kind", "method_code"]
    search_fields = ["number", "order_number", "tracking_number", "customer_email", "rma_number"]
    date_hierarchy = "created_at"
    actions = ["print_packing_slips", "print_pick_list"]  # + the bulk staff actions (shipping/staff_actions.py)
    inlines = [ShipmentLineInline, ShipmentTransitionInline, DeliveryFailureInline, TrackingEventInline]
    change_list_template = "shipping/staff/shipment_change_list.html"
    readonly_fields = [
        "number",
        "order_number",
        "kind",
        "rma_number",
        "status",
        "user_id",
        "customer_email",
        "customer_name",
        "warehouse_code",
        "method_code",
        "address",
        "carrier",
        "tracking_number",
        "label_id",
        "label_url",
        "label_created_at",
        "label_cancelled_at",
        "dispatched_at",
        "delivered_at",
        "failed_attempts",
        "last_sequence",
        "last_polled_at",
        "label_error",
        "created_at",
        "printables",
    ]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    @admin.display(description="Print")
    def printables(self, obj):
        if obj.pk is None:
            return "-"
        links = [(reverse("admin:shipping_shipment_packing_slip", args=[obj.pk]), "Packing slip")]
        if obj.label_url:
            links.append((obj.label_url, f"Shipping label ({obj.carrier})"))
        elif obj.tracking_number:
            links.append((reverse("admin:shipping_shipment_label", args=[obj.pk]), "Shipping label"))
        links.append((reverse("admin:shipping_shipment_pick_list", args=[obj.warehouse_code]), "Warehouse pick list"))
        return format_html_join(" · ", '<a href="{}" target="_blank">{}</a>', links)

    def get_urls(self):
        custom = [
            path(
                "pick-list/<str:warehouse_code>/",
                self.admin_site.admin_view(self.pick_list_view),
                name="shipping_shipment_pick_list",
            ),
            path(
                "packing-slips/",
                self.admin_site.admin_view(self.packing_slips_view),
                name="shipping_shipment_packing_slips",
            ),
            path(
                "<int:pk>/packing-slip/",
                self.admin_site.admin_view(self.packing_slip_view),
                name="shipping_shipment_packing_slip",
            ),
            path("<int:pk>/label/", self.admin_site.admin_view(self.label_view), name="shipping_shipment_label"),
        ]
        return custom + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        extra_context = extra_context or {}
        extra_context["warehouses"] = selectors.warehouses_with_open_shipments()
        return super().changelist_view(request, extra_context=extra_context)

    # printable pages (plain HTML, print stylesheet)
    def pick_list_view(self, request, warehouse_code):
        context = {
            "title": f"Pick list — warehouse {warehouse_code}",
            "warehouse_code": warehouse_code,
            "rows": selectors.pick_list(warehouse_code=warehouse_code),
        }
        return TemplateResponse(request, "shipping/staff/pick_list.html", context)

    def packing_slips_view(self, request):
        ids = [int(i) for i in request.GET.get("ids", "").split(",") if i.isdigit()]
        warehouse = request.GET.get("warehouse", "")
        qs = Shipment.objects.prefetch_related("lines").order_by("warehouse_code", "created_at")
        if ids:
            qs = qs.filter(pk__in=ids)
        elif warehouse:
            qs = qs.filter(warehouse_code=warehouse, status__in=Shipment.NOT_DISPATCHED)
        else:
            qs = qs.none()
        return TemplateResponse(request, "shipping/staff/packing_slips.html", {"shipments": list(qs)})

    def packing_slip_view(self, request, pk):
        shipment = get_object_or_404(Shipment.objects.prefetch_related("lines"), pk=pk)
        return TemplateResponse(request, "shipping/staff/packing_slips.html", {"shipments": [shipment]})

    def label_view(self, request, pk):
        shipment = get_object_or_404(Shipment.objects.prefetch_related("lines"), pk=pk)
        if not shipment.tracking_number:
            raise Http404("This shipment has no label yet.")
        weight = sum(line.quantity * line.weight_grams for line in shipment.lines.all())
        return TemplateResponse(request, "shipping/staff/label.html", {"shipment": shipment, "weight_grams": weight})

    # actions
    @admin.action(description="Print packing slips of selected shipments")
    def print_packing_slips(self, request, queryset):
        ids = ",".join(str(pk) for pk in queryset.values_list("pk", flat=True))
        return HttpResponseRedirect(f"{reverse('admin:shipping_shipment_packing_slips')}?ids={ids}")

    @admin.action(description="Print pick list for the selected shipments' warehouse")
    def print_pick_list(self, request, queryset):
        warehouses = sorted(set(queryset.values_list("warehouse_code", flat=True)))
        if len(warehouses) != 1:
            self.message_user(request, "Select shipments of one warehouse.", messages.WARNING)
            return None
        return HttpResponseRedirect(reverse("admin:shipping_shipment_pick_list", args=[warehouses[0]]))


# --- returns ------------------------------------------------------------------------------------


class ReturnLineInline(ReadOnlyInline):
    model = ReturnLine
    fields = [
        "sku",
        "name",
        "quantity",
        "unit_price_minor",
        "charged_minor",
        "condition",
        "refundable",
        "not_refundable_reason",
        "refund_minor",
        "replacement_sku",
    ]
    readonly_fields = fields


class ReturnTransitionInline(TransitionLogInline):
    model = ReturnTransition
    verbose_name_plural = "State log"


@admin.register(ReturnRequest)
class ReturnRequestAdmin(StaffActionsAdmin, CsvExportAdmin, admin.ModelAdmin):
    csv_export = staticmethod(lambda queryset: exports.returns_export(returns=queryset))
    csv_filename = "returns"
    ordering = ["-created_at", "rma_number"]
    list_display = [
        "rma_number",
        "order_number",
        "status",
        "decision",
        "goods_refund_minor",
        "shipping_refund_minor",
        "refund_minor",
        "currency",
        "created_at",
    ]
    list_filter = ["status", "decision", "warehouse_code"]
    search_fields = ["rma_number", "order_number", "customer_email", "return_tracking_number"]
    inlines = [ReturnLineInline, ReturnTransitionInline]
    readonly_fields = [
        "rma_number",
        "order_number",
        "status",
        "user_id",
        "customer_email",
        "warehouse_code",
        "reason",
        "reason_code",
        "decision",
        "shop_at_fault",
        "goods_refund_minor",
        "shipping_refund_minor",
        "refund_minor",
        "currency",
        "staff_note",
        "return_carrier",
        "return_tracking_number",
        "created_at",
        "decided_at",
        "received_at",
        "closed_at",
    ]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False
