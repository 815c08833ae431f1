from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "flowmart.users"
    label = "users"
    verbose_name = "Accounts"
