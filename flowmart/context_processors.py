from django.conf import settings


def shop(request):
    return {
        "SHOP_NAME": settings.SHOP_NAME,
        # The quantity inputs' max: the same limit the basket services enforce.
        "BASKET_MAX_QUANTITY": settings.BASKET_MAX_QUANTITY,
    }
