"""What a saved reply's placeholders mean for one mention: its customer, product, order."""

from __future__ import annotations

from flask_babel import force_locale
from sqlalchemy.orm import Session

from hub.customers.present import customer_orders
from hub.engagement.products import catalogue
from hub.i18n import lazy_gettext
from hub.models import Mention, Staff

#: the company's help pages a reply may link to
LINKS = {
    "returns": "https://kestrelfootwear.com/returns",
    "help": "https://kestrelfootwear.com/help",
    "size_guide": "https://kestrelfootwear.com/size-guide",
    "order_status": "https://kestrelfootwear.com/orders",
}
#: an order's status in words, said in the saved reply's language (not the reader's)
ORDER_STATUS = {
    "placed": lazy_gettext("being prepared"),
    "shipped": lazy_gettext("on its way"),
    "delivered": lazy_gettext("delivered"),
}


def mention_values(
    session: Session, mention: Mention, agent: Staff, language: str
) -> dict[str, dict[str, str]]:
    """The placeholders' values for a reply to ``mention`` written by ``agent`` in
    ``language``; what the hub does not know is left out (shown as ``[order.number]``)."""
    customer = mention.customer
    name = (customer.display_name if customer else "") or mention.author_name
    values: dict[str, dict[str, str]] = {
        "customer": {"name": name or "", "handle": f"@{mention.author_handle}"},
        "agent": {"name": agent.name.split()[0] if agent.name.strip() else ""},
        "links": dict(LINKS),
        "product": {},
        "order": {},
    }
    product_name = (mention.attributes or {}).get("product")
    product = next((p for p in catalogue().products.values() if p.name == product_name), None)
    if product is not None:
        values["product"] = {
            "name": product.name,
            "url": product.url,
            "price": f"${product.price_usd:,.2f}",
        }
    if customer is not None:
        orders = customer_orders(session, customer, mention)
        if orders:
            order = orders[0].order
            with force_locale(language):
                status = str(ORDER_STATUS.get(order.status, order.status))
            values["order"] = {
                "number": order.number,
                "status": status,
                "tracking_url": order.tracking_url,
            }
    return values
