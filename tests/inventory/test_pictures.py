"""Demo products get a generated picture served by the shop itself (no outside image host)."""

from inventory.models import ProductImage
from tests.inventory.factories import ProductFactory


def test_a_product_picture_is_an_svg_with_its_name(client, db):
    product = ProductFactory(name="Classic Canvas Jacket")
    response = client.get(f"/products/{product.slug}/picture.svg")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    body = response.content.decode()
    assert body.startswith("<svg") and ">CC<" in body and "Classic Canvas Jacket" in body
    assert "max-age=86400" in response["Cache-Control"]


def test_unknown_product_picture_is_404(client, db):
    assert client.get("/products/no-such-thing/picture.svg").status_code == 404


def test_demo_catalog_pictures_are_served_locally(db):
    from django.core.management import call_command

    call_command("seed_demo", verbosity=0)
    urls = set(ProductImage.objects.values_list("url", flat=True)[:50])
    assert urls and all(u.startswith("/products/") and u.endswith("/picture.svg") for u in urls)
