from django.urls import path

from inventory.api import views

urlpatterns = [
    path("products/", views.ProductListView.as_view(), name="api-products"),
    path("products/<slug:slug>/", views.ProductDetailView.as_view(), name="api-product-detail"),
    path("categories/", views.CategoryListView.as_view(), name="api-categories"),
    path("inventory/stock/", views.StockView.as_view(), name="api-inventory-stock"),
    path("inventory/adjustments/", views.AdjustmentView.as_view(), name="api-inventory-adjustments"),
]
