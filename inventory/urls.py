from django.urls import path

from inventory import views

app_name = "inventory"

urlpatterns = [
    path("products/", views.product_list, name="product_list"),
    path("products/<slug:slug>/", views.product_detail, name="product_detail"),
    path("products/<slug:slug>/picture.svg", views.product_picture, name="product_picture"),
    path("c/<slug:slug>/", views.category_detail, name="category"),
    path("search/", views.search, name="search"),
]
