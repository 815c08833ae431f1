"""Storefront pages of the inventory app: home, catalog lists, search and product pages."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.cache import cache_control

from inventory import catalog_cache, selectors
from inventory.forms import CatalogFilterForm
from inventory.placeholders import placeholder_svg
from inventory.sale_windows import MEMBERS_ONLY, SaleWindow, member_early_access_of
from inventory.search import CatalogQuery, catalog_page

PER_PAGE = 24


def _categories() -> list[dict]:
    return catalog_cache.cached(key="page:categories", deps=[catalog_cache.LISTS], build=selectors.category_tree)


def _badged(products: list[dict]) -> list[dict]:
    """Mark products only members may buy yet (non-members' lists do not contain them at all)."""
    return [
        {**p, "members_early_access": SaleWindow.from_payload(p.get("sale_window")).phase() == MEMBERS_ONLY}
        for p in products
    ]


def home(request):
    query = CatalogQuery(in_stock=True, sort="newest", member_early_access=member_early_access_of(request))
    featured = catalog_page(query=query, per_page=8)
    return render(
        request, "inventory/home.html", {"categories": _categories(), "featured": _badged(featured["products"])}
    )


def _listing(
    request, *, category: dict | None = None, title: str = "All products", template="inventory/product_list.html"
):
    form = CatalogFilterForm(request.GET or None)
    if form.is_bound:
        form.is_valid()  # errors are shown next to the fields; valid fields still filter
    query = form.catalog_query(
        category=category["slug"] if category else "", member_early_access=member_early_access_of(request)
    )
    result = catalog_page(query=query, page=form.page_number if form.is_bound else 1, per_page=PER_PAGE)
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        template,
        {
            "form": form,
            "title": title,
            "category": category,
            "categories": _categories(),
            "result": {**result, "products": _badged(result["products"])},
            "query": query,
            "querystring": params.urlencode(),
        },
    )


def product_list(request):
    return _listing(request)


def search(request):
    q = request.GET.get("q", "").strip()
    return _listing(request, title=f"Results for “{q}”" if q else "Search")


def _find(nodes: list[dict], slug: str) -> dict | None:
    for node in nodes:
        if node["slug"] == slug:
            return node
        found = _find(node["children"], slug)
        if found:
            return found
    return None


def category_detail(request, slug: str):
    category = _find(_categories(), slug)
    if category is None:
        raise Http404("No such category")
    return _listing(request, category=category, title=category["name"])


def _url_or_none(name: str) -> str | None:
    """A page another app serves, if it is installed (inventory cannot import the apps above it)."""
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def product_detail(request, slug: str):
    product = catalog_cache.cached(
        key=f"page:product:{slug}",
        deps=[catalog_cache.product_dep(slug)],
        build=lambda: selectors.product_detail_data(slug=slug) or {},
    )
    if not product:
        raise Http404("No such product")
    sale = selectors.sale_status(
        SaleWindow.from_payload(product.get("sale_window")), is_member=member_early_access_of(request)
    )
    return render(
        request,
        "inventory/product_detail.html",
        {
            "product": product,
            "sale": sale,
            "basket_add_url": _url_or_none("orders:basket_add"),
            "back_in_stock_url": _url_or_none("notifications:back_in_stock_request"),
            "sold_out_variants": [v for v in product["variants"] if not v["in_stock"]],
        },
    )


@cache_control(public=True, max_age=86400)
def product_picture(request, slug: str):
    """The generated picture a product shows until staff upload a real one."""
    facts = selectors.product_picture_facts(slug=slug)
    if facts is None:
        raise Http404("No such product")
    title, colour = facts
    # ?colour= draws one variant's colour (the variant picker's swatches).
    colour = request.GET.get("colour", "")[:30] or colour
    return HttpResponse(placeholder_svg(slug=slug, title=title, colour=colour), content_type="image/svg+xml")
