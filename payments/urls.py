from django.urls import path

from payments import views

app_name = "payments"

urlpatterns = [
    path("account/cards/", views.saved_cards, name="saved_cards"),
    path("account/cards/<uuid:method_id>/remove/", views.saved_card_remove, name="saved_card_remove"),
]
