from django.urls import path

from subscriptions.api import views

SUB = "subscriptions/<str:subscription_id>/"

urlpatterns = [
    path("plans/", views.PlanListView.as_view(), name="api-plans"),
    path("subscriptions/", views.SubscriptionListView.as_view(), name="api-subscriptions"),
    path(SUB, views.SubscriptionDetailView.as_view(), name="api-subscription"),
    path(SUB + "cancel/", views.SubscriptionCancelView.as_view(), name="api-subscription-cancel"),
    path(SUB + "change-plan/", views.SubscriptionChangePlanView.as_view(), name="api-subscription-change-plan"),
    path(SUB + "pause/", views.SubscriptionPauseView.as_view(), name="api-subscription-pause"),
    path(SUB + "resume/", views.SubscriptionResumeView.as_view(), name="api-subscription-resume"),
    path(
        SUB + "payment-method/", views.SubscriptionPaymentMethodView.as_view(), name="api-subscription-payment-method"
    ),
    path("invoices/", views.InvoiceListView.as_view(), name="api-invoices"),
    path("invoices/<str:number>/", views.InvoiceDetailView.as_view(), name="api-invoice"),
]
