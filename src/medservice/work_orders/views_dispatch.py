"""The dispatch pages of work orders (filled in by the dispatch area)."""

from __future__ import annotations

urlpatterns: list = []

# Placeholders until the dispatch area lands: the navigation names these pages.
from django.contrib.auth.decorators import login_required  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402


@login_required
def my_day(request):  # type: ignore[no-untyped-def]
    return HttpResponse("")


@login_required
def dispatch_board(request):  # type: ignore[no-untyped-def]
    return HttpResponse("")


urlpatterns = [
    path("my-day/", my_day, name="my-day"),
    path("dispatch/", dispatch_board, name="dispatch-board"),
]
