from django.urls import path

from subscriptions import views

app_name = "subscriptions"

urlpatterns = [
    path("membership/", views.plans, name="plans"),
    path("membership/join/<slug:code>/", views.subscribe, name="subscribe"),
    path("membership/manage/", views.manage, name="manage"),
    path("membership/manage/change-plan/", views.change_plan, name="change_plan"),
    path("membership/manage/pause/", views.pause, name="pause"),
    path("membership/manage/resume/", views.resume, name="resume"),
    path("membership/manage/cancel/", views.cancel, name="cancel"),
    path("membership/manage/keep/", views.keep, name="keep"),
    path("membership/manage/card/", views.update_card, name="update_card"),
    path("membership/invoices/<str:number>/", views.invoice_detail, name="invoice"),
    path("membership/invoices/<str:number>/download/", views.invoice_download, name="invoice_download"),
]
