from rest_framework import serializers

from inventory.models import StockMovement
from inventory.search import SORTS

Reason = StockMovement.Reason


class ProductQueryInSerializer(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=200, help_text="Search text (typos are ok)")
    category = serializers.SlugField(
        required=False, allow_blank=True, help_text="Category slug (includes subcategories)"
    )
    min_price = serializers.IntegerField(required=False, min_value=0, help_text="Minimum price in minor units")
    max_price = serializers.IntegerField(required=False, min_value=0, help_text="Maximum price in minor units")
    in_stock = serializers.BooleanField(required=False, default=False)
    ordering = serializers.ChoiceField(choices=list(SORTS), required=False, default="relevance")
    page = serializers.IntegerField(required=False, min_value=1)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=100)

    def validate(self, attrs):
        low, high = attrs.get("min_price"), attrs.get("max_price")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError({"max_price": "Must be at least min_price."})
        return attrs


class CategoryRefOutSerializer(serializers.Serializer):
    name = serializers.CharField()
    slug = serializers.CharField()


class SaleWindowOutSerializer(serializers.Serializer):
    early_access_at = serializers.DateTimeField(allow_null=True)
    on_sale_at = serializers.DateTimeField(allow_null=True)


class SaleStatusOutSerializer(serializers.Serializer):
    """Whether the caller may buy the product now (members' early access: ``inventory/sale_windows.py``)."""

    phase = serializers.ChoiceField(choices=["upcoming", "members_only", "open"])
    can_buy = serializers.BooleanField()
    members_early_access = serializers.BooleanField()
    opens_at = serializers.DateTimeField(allow_null=True, help_text="When the caller may buy (null: now)")
    early_access_at = serializers.DateTimeField(allow_null=True)
    on_sale_at = serializers.DateTimeField(allow_null=True)


class ProductSummaryOutSerializer(serializers.Serializer):
    """Documents the cached plain-data rows (``selectors.product_summary``)."""

    name = serializers.CharField()
    slug = serializers.CharField()
    category = CategoryRefOutSerializer()
    price_min_minor = serializers.IntegerField(allow_null=True)
    price_max_minor = serializers.IntegerField(allow_null=True)
    currency = serializers.CharField()
    image_url = serializers.CharField()
    stock_status = serializers.ChoiceField(choices=["in_stock", "low_stock", "out_of_stock"])
    availability = serializers.CharField()
    in_stock = serializers.BooleanField()
    variant_count = serializers.IntegerField()
    skus = serializers.ListField(child=serializers.CharField())
    sale_window = SaleWindowOutSerializer()


class VariantOutSerializer(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    options = serializers.DictField(child=serializers.CharField())
    price_minor = serializers.IntegerField()
    currency = serializers.CharField()
    weight_grams = serializers.IntegerField()
    barcode = serializers.CharField()
    available = serializers.IntegerField()
    availability = serializers.CharField()
    in_stock = serializers.BooleanField()


class ImageOutSerializer(serializers.Serializer):
    url = serializers.CharField()
    alt = serializers.CharField()


class ProductDetailOutSerializer(serializers.Serializer):
    name = serializers.CharField()
    slug = serializers.CharField()
    description = serializers.CharField()
    attributes = serializers.DictField()
    category = CategoryRefOutSerializer()
    breadcrumbs = CategoryRefOutSerializer(many=True)
    images = ImageOutSerializer(many=True)
    price_min_minor = serializers.IntegerField(allow_null=True)
    price_max_minor = serializers.IntegerField(allow_null=True)
    currency = serializers.CharField()
    available = serializers.IntegerField()
    availability = serializers.CharField()
    in_stock = serializers.BooleanField()
    option_names = serializers.ListField(child=serializers.CharField())
    variants = VariantOutSerializer(many=True)
    sale_window = SaleWindowOutSerializer()
    sale = SaleStatusOutSerializer(help_text="For the caller: members see their early access")


class CategoryOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()
    parent_id = serializers.IntegerField(allow_null=True)
    product_count = serializers.IntegerField()
    children = serializers.ListField(child=serializers.DictField())


class StockLevelOutSerializer(serializers.Serializer):
    sku = serializers.CharField()
    warehouse_code = serializers.CharField()
    warehouse_name = serializers.CharField()
    on_hand = serializers.IntegerField()
    reserved = serializers.IntegerField()
    available = serializers.IntegerField()
    low_stock_threshold = serializers.IntegerField()


class StockQueryInSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)


class AdjustmentInSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    warehouse = serializers.CharField(max_length=32, help_text="Warehouse code")
    quantity = serializers.IntegerField(help_text="Signed change of on-hand units, not zero")
    reason = serializers.ChoiceField(
        choices=[c for c in Reason.values if c not in (Reason.TRANSFER, Reason.SALE)], default=Reason.ADJUSTMENT
    )
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")

    def validate_quantity(self, value):
        if value == 0:
            raise serializers.ValidationError("Must not be zero.")
        return value
