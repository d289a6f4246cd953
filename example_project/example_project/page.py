"""The demo's web page: three static files, served with strict security headers.

The page is plain files read from disk, never a template: the server puts nothing about the
request or its user into it, and everything the page shows comes from the public JSON API.
Served by these views rather than by staticfiles, so it works with DEBUG off too.
"""

from __future__ import annotations

import math
from pathlib import Path

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

PAGE_DIR = Path(__file__).resolve().parent.parent / "demo" / "page"

#: name -> content type: the only files served, so no path from the URL reaches the disk.
FILES = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}

#: Only the page's own script, style and API: no inline code, no other origin, no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # A new version of the demo is picked up at once; the files are small.
    "Cache-Control": "no-cache",
}


def secured(response: HttpResponse) -> HttpResponse:
    """``response`` with the page's security headers."""
    for header, value in SECURITY_HEADERS.items():
        response.headers[header] = value
    return response


def page_file(name: str) -> HttpResponse:
    """One of the page's files with the security headers; 404 for any other name."""
    if name not in FILES:
        raise Http404("No such file.")
    return secured(HttpResponse((PAGE_DIR / name).read_bytes(), content_type=FILES[name]))


# GET and HEAD only: any other method is 405 with "Allow: GET, HEAD". Exempt from CSRF so
# that a POST gets that 405 rather than a CSRF failure: nothing here changes anything.
@csrf_exempt
@require_safe
def page(request: HttpRequest) -> HttpResponse:
    """The page itself, whatever the Accept header (``/`` serves it to browsers only)."""
    return page_file("index.html")


@csrf_exempt
@require_safe
def asset(request: HttpRequest, name: str) -> HttpResponse:
    """The page's script or style sheet (the page itself is at ``/`` and ``page/``)."""
    if name == "index.html":
        raise Http404("No such file.")
    return page_file(name)


@csrf_exempt
@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    """The demo has no icon: 204 No Content tells a browser so, where a 404 is an error in
    its console and a warning in the server's log at every visit."""
    return secured(HttpResponse(status=204))


def quality(accept: str, media_type: str) -> float:
    """The q-value ``accept`` gives ``media_type`` (RFC 9110 §12.5.1): the most specific
    range that matches decides; no match is 0."""
    main = media_type.split("/")[0]
    best, best_specificity = 0.0, -1
    for part in accept.split(","):
        range_, *params = (piece.strip() for piece in part.split(";"))
        specificity = {media_type: 2, f"{main}/*": 1, "*/*": 0}.get(range_.lower())
        if specificity is None or specificity < best_specificity:
            continue
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
                # A weight that is not a number from 0 to 1 ("nan", "inf", "-3") counts as 0.
                q = q if math.isfinite(q) and 0.0 <= q <= 1.0 else 0.0
        if specificity > best_specificity or q > best:
            best, best_specificity = q, specificity
    return best


def prefers_html(request: HttpRequest) -> bool:
    """A browser asking for a page: HTML ranks above JSON in its Accept header.

    ``*/*`` alone (curl), no header, or ``?format=`` (DRF's override) keep the JSON index.
    """
    if "format" in request.GET:
        return False
    accept = request.headers.get("Accept", "")
    return quality(accept, "text/html") > quality(accept, "application/json")


def vary_on_accept(response: HttpResponse) -> HttpResponse:
    """``/`` answers by Accept: a cache must keep the page and the JSON apart."""
    patch_vary_headers(response, ["Accept"])
    return response
