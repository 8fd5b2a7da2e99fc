"""Request plumbing: a request id and client address for the audit trail, and each user's
language and time zone."""

from __future__ import annotations

import uuid
import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from medservice.core.context import audit_context


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request.headers.get("X-Request-ID", "")[:64] or uuid.uuid4().hex
        request.request_id = request_id
        with audit_context(
            request=request, request_id=request_id, client_address=client_address(request)
        ):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


def client_address(request: HttpRequest) -> str | None:
    """The caller's address: REMOTE_ADDR, or behind NUM_PROXIES trusted proxies the address the
    outermost of them saw (earlier X-Forwarded-For entries are the client's to forge)."""
    proxies = getattr(settings, "NUM_PROXIES", 0)
    if proxies > 0:
        hops = [
            hop.strip()
            for hop in request.headers.get("X-Forwarded-For", "").split(",")
            if hop.strip()
        ]
        if hops:
            return hops[-min(proxies, len(hops))]
    return request.META.get("REMOTE_ADDR") or None


class OutOfRangeMiddleware:
    """A number beyond what the database stores, typed into a filter or a URL, is bad input
    (400), not a server error."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        from django.db import DataError
        from django.shortcuts import render

        if isinstance(exception, OverflowError | DataError):
            return render(request, "400.html", status=400)
        return None


class UserPreferencesMiddleware:
    """Activate the signed-in user's time zone, and language unless one was just chosen."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        zone_name = settings.MEDSERVICE_DEFAULT_USER_TIME_ZONE
        if user is not None and user.is_authenticated:
            zone_name = getattr(user, "time_zone", "") or zone_name
            language = getattr(user, "language", "")
            if language and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
                translation.activate(language)
                request.LANGUAGE_CODE = language
        try:
            timezone.activate(zoneinfo.ZoneInfo(zone_name))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.activate(zoneinfo.ZoneInfo(settings.TIME_ZONE))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


# A file served back is a file, never a page: a content policy that runs nothing and lets it be
# framed by nothing else (an uploaded HTML or SVG opened in the browser cannot run a script in
# the site's origin). PDFs are left unsandboxed: browsers refuse to show a sandboxed PDF.
FILE_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; img-src 'self' data:; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)


class FileResponseSecurityMiddleware:
    """Files served back (attachments, uploads under MEDIA_URL, exports) are downloaded unless
    their type is safe to show (MEDSERVICE_INLINE_SAFE_TYPES: images, PDF), are never
    content-sniffed, and carry a restrictive content security policy of their own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not is_file_response(request, response):
            return response
        content_type = response.get("Content-Type", "").split(";")[0].strip().lower()
        safe_inline = content_type in getattr(settings, "MEDSERVICE_INLINE_SAFE_TYPES", [])
        disposition = response.get("Content-Disposition", "")
        if not safe_inline and not disposition.lower().startswith("attachment"):
            rest = disposition.split(";", 1)[1].strip() if ";" in disposition else ""
            response["Content-Disposition"] = "attachment" + (f"; {rest}" if rest else "")
        response["X-Content-Type-Options"] = "nosniff"
        sandbox = "" if content_type == "application/pdf" else "; sandbox"
        response["Content-Security-Policy"] = FILE_CONTENT_SECURITY_POLICY + sandbox
        return response


def is_file_response(request: HttpRequest, response: HttpResponse) -> bool:
    from django.http import FileResponse

    media_url = getattr(settings, "MEDIA_URL", "") or ""
    return (
        isinstance(response, FileResponse)
        or "Content-Disposition" in response
        or (bool(media_url.startswith("/")) and request.path.startswith(media_url))
    )
