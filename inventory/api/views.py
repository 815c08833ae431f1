"""``/api/v1/`` for the catalog (public, cached) and staff stock screens."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from flowmart.api.idempotency import idempotent
from flowmart.api.pagination import StandardPagination
from flowmart.errors import NotFound
from flowmart.staff.api.permissions import StaffActionPermission
from inventory import catalog_cache, selectors, services
from inventory.api.serializers import (
    AdjustmentInSerializer,
    CategoryOutSerializer,
    ProductDetailOutSerializer,
    ProductQueryInSerializer,
    ProductSummaryOutSerializer,
    SaleStatusOutSerializer,
    StockLevelOutSerializer,
    StockQueryInSerializer,
)
from inventory.sale_windows import SaleWindow, member_early_access_of
from inventory.search import CatalogQuery, catalog_products


class ProductListView(APIView):
    permission_classes = [AllowAny]
    pagination_class = StandardPagination  # the schema documents the page envelope (count, next, previous, results)

    @extend_schema(
        parameters=[ProductQueryInSerializer],
        responses=ProductSummaryOutSerializer(many=True),
        summary="Search, filter, sort and page the catalog",
    )
    def get(self, request):
        params = ProductQueryInSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        query = CatalogQuery.from_params(params.validated_data, member_early_access=member_early_access_of(request))
        paginator = StandardPagination()

        def build():
            page = paginator.paginate_queryset(catalog_products(query=query), request, view=self)
            return paginator.get_paginated_response([selectors.product_summary(p) for p in page]).data

        key = catalog_cache.query_key(
            f"api:products:{request.get_host()}",
            {
                **query.as_params(),
                "page": request.query_params.get("page"),
                "page_size": params.validated_data.get("page_size"),
            },
        )
        deps = [catalog_cache.category_dep(query.category) if query.category else catalog_cache.LISTS]
        if settings.DEBUG:
            with CaptureQueriesContext(connection) as queries:
                data = catalog_cache.cached(key=key, deps=deps, build=build)
            return Response(data, headers={"X-DB-Queries": str(len(queries))})
        return Response(catalog_cache.cached(key=key, deps=deps, build=build))


class ProductDetailView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=ProductDetailOutSerializer, summary="One product with its variants and availability")
    def get(self, request, slug: str):
        data = catalog_cache.cached(
            key=f"api:product:{slug}",
            deps=[catalog_cache.product_dep(slug)],
            build=lambda: selectors.product_detail_data(slug=slug) or {},
        )
        if not data:
            raise Http404
        window = SaleWindow.from_payload(data.get("sale_window"))
        sale = selectors.sale_status(window, is_member=member_early_access_of(request))
        return Response({**data, "sale": SaleStatusOutSerializer(sale).data})


class CategoryListView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=CategoryOutSerializer(many=True), summary="The category tree")
    def get(self, request):
        return Response(
            catalog_cache.cached(key="api:categories", deps=[catalog_cache.LISTS], build=selectors.category_tree)
        )


class StockView(APIView):
    permission_classes = [StaffActionPermission]
    staff_permission = "inventory.view_stock"

    @extend_schema(
        parameters=[StockQueryInSerializer],
        responses=StockLevelOutSerializer(many=True),
        summary="Stock of one SKU per warehouse (staff)",
    )
    def get(self, request):
        params = StockQueryInSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        sku = params.validated_data["sku"]
        if selectors.variant_get_by_sku(sku=sku) is None:
            raise NotFound(f"There is no SKU {sku!r}.")
        levels = selectors.stock_levels_for_sku(sku=sku)
        return Response(StockLevelOutSerializer(levels, many=True).data)


class AdjustmentView(APIView):
    # The Warehouse role (docs/staff.md §Roles); recorded in the stock ledger with who did it.
    permission_classes = [StaffActionPermission]
    staff_permission = "inventory.adjust_stock"

    @extend_schema(
        request=AdjustmentInSerializer,
        responses={
            201: inline_serializer(
                "AdjustmentResult",
                {"sku": serializers.CharField(), "levels": StockLevelOutSerializer(many=True)},
            )
        },
        summary="Adjust on-hand stock of a SKU in a warehouse (staff); recorded in the ledger",
    )
    @idempotent
    def post(self, request):
        data = AdjustmentInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        services.stock_adjust(
            sku=v["sku"],
            warehouse_code=v["warehouse"],
            quantity=v["quantity"],
            reason=v["reason"],
            note=v["note"],
            by=request.user,
        )
        levels = selectors.stock_levels_for_sku(sku=v["sku"])
        return Response(
            {"sku": v["sku"], "levels": StockLevelOutSerializer(levels, many=True).data}, status=status.HTTP_201_CREATED
        )
