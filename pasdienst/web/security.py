"""Security headers on every response (flask-talisman).

The CSP allows no inline script or style anywhere. ``'wasm-unsafe-eval'`` is
there for the merchant scanner's WebAssembly QR decoder (ECOSYSTEM §A10), and
the camera is allowed for our own origin only (the scan page needs it).
"""
from __future__ import annotations

from flask import Flask
from flask_talisman import Talisman

from ..config import Settings

CSP = {
    "default-src": "'self'",
    "script-src": "'self' 'wasm-unsafe-eval'",
    "style-src": "'self'",
    "img-src": "'self' data: blob:",
    "media-src": "'self' blob:",
    "connect-src": "'self'",
    "font-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def install_security_headers(app: Flask, settings: Settings) -> None:
    Talisman(
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
