"""Products beside the conversation: what a mention names, its price and stock, and for a sold-out
one where else the customer can get something close (guideline G8: help first, even when the
answer isn't us), with reply lines in the customer's language for the agent to insert.

The catalogue (``hub/catalog.json``, the company catalogue plus the names customers use) lists
under a product's ``alternatives`` only other shops' products (shop, name, url; a price when the
catalogue has one). It names none of our own, so our in-stock alternatives are read from the
catalogue itself: the same category, in stock, nearest in price first.

Reply lines are sentence templates in the i18n catalogue, filled in the mention's language, not
the agent's: a Spanish customer gets Spanish even when the agent's hub is in English.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask_babel import force_locale, format_currency

from hub.engagement import products
from hub.engagement.products import Catalogue, Product
from hub.i18n import LANGUAGES, _
from hub.models import Mention

#: products per mention the sidebar shows (a mention naming more is comparing, not asking)
MAX_PRODUCTS = 3
#: our own alternatives per sold-out product
MAX_OURS = 2


@dataclass(frozen=True)
class Offer:
    """Somewhere the customer can get a product: one of ours in stock, or another shop's."""

    name: str
    #: the catalogue's link when it is an http(s) one, else "" (shown without a link)
    url: str
    price_usd: float | None
    #: the other shop's name; None for ours
    shop: str | None = None

    @property
    def price(self) -> str:
        """The price in the reader's locale ("" when the catalogue gives none)."""
        return "" if self.price_usd is None else _price(self.price_usd)


@dataclass(frozen=True)
class ProductHelp:
    """One product the mention names, and what to tell the customer about it."""

    product: Product
    url: str
    #: the price in the reader's (the agent's) locale
    price: str
    #: our in-stock alternatives (sold-out products only)
    ours: tuple[Offer, ...]
    #: other shops' alternatives from the catalogue (sold-out products only)
    elsewhere: tuple[Offer, ...]
    #: reply lines in the mention's language, each ready to insert
    suggestions: tuple[str, ...]


@dataclass(frozen=True)
class ProductPanel:
    """The sidebar's products for one mention."""

    #: the language the reply lines are in (the mention's)
    language: str
    products: tuple[ProductHelp, ...]


def safe_url(url: Any) -> str:
    """``url`` when it is an absolute http(s) link, else "": catalogue data becomes an href and
    inserted reply text, and a ``javascript:`` link must never reach either."""
    if not isinstance(url, str):
        return ""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    return url.strip()


def reply_language(mention: Mention) -> str:
    """The language the customer wrote in, as one of the hub's (English when unknown)."""
    for code in (mention.language, (mention.attributes or {}).get("language")):
        if isinstance(code, str) and code.split("-")[0] in LANGUAGES:
            return code.split("-")[0]
    return "en"


def named_products(mention: Mention, catalogue: Catalogue | None = None) -> list[Product]:
    """The products a mention is about: the one triage stored (which may be the customer's
    earlier one), then every product its text names."""
    catalogue = catalogue or products.catalogue()
    by_name = {p.name: p for p in catalogue.products.values()}
    found: list[Product] = []
    stored = (mention.attributes or {}).get("product")
    if isinstance(stored, str) and stored in by_name:
        found.append(by_name[stored])
    for p in catalogue.find_all(mention.text or ""):
        if p not in found:
            found.append(p)
    return found[:MAX_PRODUCTS]


def our_alternatives(product: Product, catalogue: Catalogue | None = None) -> list[Product]:
    """Our in-stock products closest to a sold-out one: same category, nearest price first."""
    catalogue = catalogue or products.catalogue()
    close = [
        p
        for p in catalogue.products.values()
        if p.in_stock and p.category == product.category and p.sku != product.sku
    ]
    close.sort(key=lambda p: (abs(p.price_usd - product.price_usd), p.name))
    return close[:MAX_OURS]


def other_shops(product: Product) -> list[Offer]:
    """The catalogue's alternatives at other shops, as offers (entries without a name are
    skipped: there is nothing to recommend)."""
    offers = []
    for entry in product.alternatives:
        if not isinstance(entry, Mapping) or not entry.get("name"):
            continue
        price = entry.get("price_usd", entry.get("price"))
        offers.append(
            Offer(
                name=str(entry["name"]),
                url=safe_url(entry.get("url")),
                price_usd=float(price) if isinstance(price, int | float) else None,
                shop=str(entry.get("shop") or "") or None,
            )
        )
    return offers


def _price(value: float) -> str:
    return format_currency(value, "USD")


def _short_name(offer: Offer) -> str:
    """The offer's name without a leading shop name ("PeakPair has the Tempo Wide", not "the
    PeakPair Tempo Wide")."""
    if offer.shop and offer.name.casefold().startswith(offer.shop.casefold() + " "):
        return offer.name[len(offer.shop) + 1 :]
    return offer.name


def suggest_lines(
    product: Product,
    ours: Iterable[Offer],
    elsewhere: Iterable[Offer],
    language: str,
    selling: bool = True,
) -> tuple[str, ...]:
    """Short reply lines in ``language``: in stock, where to buy it (only to someone who is
    ``selling``-stage, i.e. not about an order they already have); sold out, say so, then one
    line per alternative with its link (the agent picks and inserts)."""
    url = safe_url(product.url)
    lines: list[str] = []
    with force_locale(language):
        if product.in_stock:
            if url and selling:
                lines.append(
                    _(
                        "Good news: the %(product)s is in stock (%(price)s): %(url)s",
                        product=product.name,
                        price=_price(product.price_usd),
                        url=url,
                    )
                )
            return tuple(lines)
        lines.append(_("Sorry, the %(product)s is sold out right now.", product=product.name))
        for offer in ours:
            if offer.url and offer.price_usd is not None:
                lines.append(
                    _(
                        "The %(name)s is close and we have it (%(price)s): %(url)s",
                        name=offer.name,
                        price=_price(offer.price_usd),
                        url=offer.url,
                    )
                )
        for offer in elsewhere:
            if not offer.url:
                continue
            if offer.shop:
                lines.append(
                    _(
                        "If you'd rather not wait, %(shop)s has the %(name)s: %(url)s",
                        shop=offer.shop,
                        name=_short_name(offer),
                        url=offer.url,
                    )
                )
            else:
                lines.append(
                    _(
                        "If you'd rather not wait, the %(name)s is a good pick: %(url)s",
                        name=offer.name,
                        url=offer.url,
                    )
                )
    return tuple(lines)


def help_with(
    product: Product, language: str, catalogue: Catalogue | None = None, selling: bool = True
) -> ProductHelp:
    """Price, stock and, for a sold-out product, its alternatives and reply lines."""
    ours: list[Offer] = []
    elsewhere: list[Offer] = []
    if not product.in_stock:
        ours = [
            Offer(p.name, safe_url(p.url), p.price_usd)
            for p in our_alternatives(product, catalogue)
        ]
        elsewhere = other_shops(product)
    return ProductHelp(
        product=product,
        url=safe_url(product.url),
        price=_price(product.price_usd),
        ours=tuple(ours),
        elsewhere=tuple(elsewhere),
        suggestions=suggest_lines(product, ours, elsewhere, language, selling),
    )


def product_panel(mention: Mention, catalogue: Catalogue | None = None) -> ProductPanel:
    """The sidebar's products for a mention, with reply lines in the customer's language."""
    catalogue = catalogue or products.catalogue()
    language = reply_language(mention)
    # "Good news: it is in stock" answers someone about to buy, not a customer writing about a
    # pair they already have (a sole peeling off, a late parcel)
    selling = (mention.attributes or {}).get("stage") != "order"
    return ProductPanel(
        language=language,
        products=tuple(
            help_with(p, language, catalogue, selling) for p in named_products(mention, catalogue)
        ),
    )
