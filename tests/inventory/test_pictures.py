"""Products without a photo get a generated picture of what they are, served by the shop itself."""

from django.core.management import call_command

from inventory.models import Product, ProductImage
from inventory.placeholders import COLOUR_FILLS, kind_for
from tests.inventory.factories import ProductFactory, VariantFactory

# The kind of drawing each demo category must get (a hoodie looks like a hoodie, never a parcel).
KINDS_BY_CATEGORY = {
    "t-shirts": {"tee"},
    "hoodies": {"hoodie"},
    "jackets": {"jacket"},
    "caps-and-hats": {"cap"},
    "mugs": {"mug"},
    "bottles": {"bottle"},
    "cookware": {"pan", "pot"},
    "backpacks": {"backpack", "tote"},
    "notebooks": {"notebook"},
    "audio": {"headphones", "speaker"},
}


def test_a_product_picture_draws_its_kind_in_its_colour(client, db):
    product = ProductFactory(name="Weekend Zip Hoodie")
    VariantFactory(product=product, sku="WZH-1", name="M / Forest", options={"size": "M", "colour": "Forest"})
    response = client.get(f"/products/{product.slug}/picture.svg")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    body = response.content.decode()
    assert body.startswith('<svg xmlns="http://www.w3.org/2000/svg" width="480" height="360"')
    assert "<title>Weekend Zip Hoodie</title>" in body
    assert f'fill="{COLOUR_FILLS["forest"]}"' in body
    assert "<text" not in body  # a drawing, not initials on a tile
    assert "max-age=86400" in response["Cache-Control"]

    navy = client.get(f"/products/{product.slug}/picture.svg?colour=Navy").content.decode()
    assert f'fill="{COLOUR_FILLS["navy"]}"' in navy  # one variant's colour


def test_the_kind_comes_from_whole_words_of_the_name():
    assert kind_for("Carbon Steel Skillet") == "pan"  # "steel" is not a "tee"
    assert kind_for("Heavyweight Pocket Tee") == "tee"
    assert kind_for("Escape Rope") == "parcel"  # "cap" inside a word is not a cap
    assert kind_for("Trail Trucker Cap") == "cap"


def test_unknown_product_picture_is_404(client, db):
    assert client.get("/products/no-such-thing/picture.svg").status_code == 404


def test_demo_catalog_pictures_are_served_locally_and_look_like_the_product(db):
    call_command("seed_demo", verbosity=0)
    urls = set(ProductImage.objects.values_list("url", flat=True)[:50])
    assert urls and all(u.startswith("/products/") and u.endswith("/picture.svg") for u in urls)
    for slug, kinds in KINDS_BY_CATEGORY.items():
        names = list(Product.objects.filter(category__slug=slug).values_list("name", flat=True))
        assert len(names) >= 20, slug
        assert {kind_for(name) for name in names} <= kinds, slug
