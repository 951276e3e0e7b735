"""``/merchant``: the till page on the merchant's own phone."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template

from ..access.web import current_actor, requires
from ..merchants.records import get_merchant
from ..web.extensions import get_db

pages = Blueprint("merchant_pages", __name__)


@pages.get("/merchant")
@requires("merchant")
def till() -> str:
    actor = current_actor()
    with get_db(current_app).read() as session:
        merchant = get_merchant(session, actor.merchant_id)
        name = merchant.name
    return render_template("merchant/scan.html", merchant_name=name, till_user=actor.user_id)
