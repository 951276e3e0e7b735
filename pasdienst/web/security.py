"""Security headers on every response (flask-talisman).

The CSP allows no inline script or style anywhere. ``'wasm-unsafe-eval'`` is
there for the merchant scanner's WebAssembly QR decoder (ECOSYSTEM §A10), and
the camera is allowed for our own origin only (the scan page needs it).
The pass page's service worker and web app manifest are our own files too
(``worker-src``/``manifest-src 'self'``, said outright rather than left to
the fallbacks), so a phone without data keeps the pass without any script
source being loosened.

Every answer that does not say otherwise is ``Cache-Control: no-store``: the
staff pages (``/admin``, ``/finance``, ``/merchant``, ``/account`` and all
below them) and the API show personal data and payees, and a shared or lost
computer must not keep them in its cache or show them with "back" after a
logout. Static files set their own caching (``web/assets.py``).

A page whose address or content is a secret of its own (a pass's link, an
unsubscribe link, a one-time password) is marked ``private``, the blueprint
or the one view: it is also sent on to no one as a referrer and kept out of
search engines (``PRIVATE_HEADERS``). One hook sets all of it, in this order
(the cache default, the fixed headers, then a private page's), so no page
depends on the order in which hooks were registered.
"""
from __future__ import annotations

from typing import Any, TypeVar

from flask import Flask, Response, current_app, has_request_context, request
from flask_talisman import Talisman

from ..config import Settings

CSP = {
    "default-src": "'self'",
    "script-src": "'self' 'wasm-unsafe-eval'",
    "style-src": "'self'",
    "img-src": "'self' data: blob:",
    "media-src": "'self' blob:",
    "connect-src": "'self'",
    "worker-src": "'self'",
    "manifest-src": "'self'",
    "font-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


#: What a private page adds to (and overrides in) the fixed headers.
PRIVATE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex, nofollow"}
_PRIVATE = "pasdienst_private"

Marked = TypeVar("Marked")


def private(target: Marked) -> Marked:
    """Mark a blueprint (each of its pages) or a view function (under its route decorator) private."""
    setattr(target, _PRIVATE, True)
    return target


def _is_private() -> bool:
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    if getattr(view, _PRIVATE, False):
        return True
    blueprint = current_app.blueprints.get(request.blueprint) if request.blueprint else None
    return bool(getattr(blueprint, _PRIVATE, False))


class _Talisman(Talisman):
    """Talisman with its headers worked out once instead of per response.

    No view here has options of its own (``@talisman(...)``), no CSP nonce is
    used, and Strict-Transport-Security depends only on whether the request
    came over https: so every response gets one of two fixed header sets
    (a third of a small request's framework time otherwise; docs/benchmarks.md).
    """

    def init_app(self, app: Flask, **kwargs: Any) -> None:
        super().init_app(app, **kwargs)
        self._fixed: dict[bool, list[tuple[str, str]]] = {}

    def _force_https(self) -> Any:
        return super()._force_https() if self.force_https else None

    def _make_nonce(self) -> None:
        return None  # no content_security_policy_nonce_in: there is no nonce to make

    def _set_response_headers(self, response: Response) -> Response:
        """The one hook of the headers policy: the cache default, the fixed headers, a private page's."""
        headers = response.headers
        # The cache default first: the till's lane writes its answer's headers in this order too.
        if "Cache-Control" not in headers:
            headers["Cache-Control"] = "no-store"
        for name, value in self.fixed_headers(request.is_secure or request.headers.get("X-Forwarded-Proto", "http") == "https"):
            headers[name] = value
        if _is_private():
            headers.update(PRIVATE_HEADERS)
        return response

    def fixed_headers(self, secure: bool) -> list[tuple[str, str]]:
        """The headers of every response to a request over https (``secure``)
        or not; also for answers written without Flask (the till's lane,
        ``redeem/api.py``)."""
        fixed = self._fixed.get(secure)
        if fixed is None:
            scratch = Response()
            scratch.headers.clear()
            if has_request_context():
                super()._set_response_headers(scratch)
            else:
                with self.app.test_request_context(base_url="https://localhost" if secure else "http://localhost"):
                    super()._set_response_headers(scratch)
            fixed = self._fixed[secure] = list(scratch.headers.items())
        return fixed


TALISMAN_EXTENSION = "pasdienst.talisman"


def fixed_headers(app: Flask, secure: bool) -> list[tuple[str, str]]:
    """The security headers every response of ``app`` carries (see ``_Talisman``)."""
    return app.extensions[TALISMAN_EXTENSION].fixed_headers(secure)


def install_security_headers(app: Flask, settings: Settings) -> None:
    app.extensions[TALISMAN_EXTENSION] = _Talisman(
        app,
        # TLS is terminated by the load balancer in production; redirecting
        # here would loop behind it. HSTS still tells browsers to stay on https.
        force_https=False,
        strict_transport_security=settings.production,
        strict_transport_security_max_age=31536000,
        content_security_policy=CSP,
        frame_options="DENY",
        referrer_policy="strict-origin-when-cross-origin",
        permissions_policy={"camera": "(self)", "microphone": "()", "geolocation": "()", "browsing-topics": "()"},
        session_cookie_secure=settings.production,
        session_cookie_http_only=True,
        session_cookie_samesite="Lax",
    )
