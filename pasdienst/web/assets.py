"""Static files that a phone on slow 3G downloads once.

``asset_url(path)`` adds the file's content hash (``?v=<sha256[:12]>``) to a
static URL. A request that carries the hash of the file as it is now may be
cached for a year (``immutable``): a new deploy changes the hash and so the
URL. Without the hash, or with a stale one, the browser revalidates.

Compressible static files are sent gzipped when the browser accepts it; the
scan page's decoder (1.1 MB of WebAssembly) shrinks to less than half, and
the app must not depend on a front proxy to do that.
"""
from __future__ import annotations

import gzip
import hashlib
import mimetypes
from functools import lru_cache
from pathlib import Path

from flask import Flask, Response, current_app, request, url_for

# Python 3.11's table lacks .wasm; browsers only stream-compile wasm that is
# served as application/wasm.
mimetypes.add_type("application/wasm", ".wasm")
mimetypes.add_type("text/javascript", ".js")

LONG_CACHE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
_COMPRESSIBLE = {"text/css", "text/javascript", "application/javascript", "application/wasm", "image/svg+xml", "application/json", "text/plain"}
_MIN_GZIP_BYTES = 1024

@lru_cache(maxsize=None)
def _file_hash(path: str) -> str:
    # Cached for the life of the process: static files do not change under a
    # running server (a deploy restarts it).
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


@lru_cache(maxsize=64)
def _gzipped(path: str, mtime_ns: int, size: int) -> bytes:
    # mtime and size are part of the key so an edited file (development)
    # is never served from a stale cache entry.
    return gzip.compress(Path(path).read_bytes(), compresslevel=9, mtime=0)


def _static_file(app: Flask, filename: str) -> Path | None:
    folder = Path(app.static_folder or "").resolve()
    candidate = (folder / filename).resolve()
    if folder not in candidate.parents or not candidate.is_file():
        return None
    return candidate


def asset_version(filename: str, app: Flask | None = None) -> str:
    """The content hash of a file under the static folder."""
    app = app or current_app
    path = _static_file(app, filename)
    if path is None:
        raise FileNotFoundError(f"no static file {filename!r}")
    return _file_hash(str(path))


def asset_url(filename: str) -> str:
    """``url_for('static', filename=…)`` plus the content hash, for long caching."""
    return url_for("static", filename=filename, v=asset_version(filename))


def _static_caching(response: Response) -> Response:
    if request.endpoint != "static" or response.status_code not in (200, 304):
        return response
    path = _static_file(current_app, (request.view_args or {}).get("filename", ""))
    if path is None:
        return response
    if request.args.get("v") == _file_hash(str(path)):
        response.headers["Cache-Control"] = LONG_CACHE
    else:
        response.headers["Cache-Control"] = REVALIDATE
    response.vary.add("Accept-Encoding")
    if response.status_code == 200 and request.method == "GET":
        _maybe_gzip(response, path)
    return response


def _maybe_gzip(response: Response, path: Path) -> None:
    if response.mimetype not in _COMPRESSIBLE or "gzip" not in request.accept_encodings:
        return
    if "Content-Range" in response.headers or response.headers.get("Content-Encoding"):
        return
    stat = path.stat()
    if stat.st_size < _MIN_GZIP_BYTES:
        return
    body = _gzipped(str(path), stat.st_mtime_ns, stat.st_size)
    response.direct_passthrough = False
    response.set_data(body)
    response.headers["Content-Encoding"] = "gzip"
    etag, weak = response.get_etag()
    if etag:
        # A different representation needs a different validator.
        response.set_etag(f"{etag}-gz", weak=bool(weak))
        response.make_conditional(request)


def init_app(app: Flask) -> None:
    app.jinja_env.globals["asset_url"] = asset_url
    app.after_request(_static_caching)
