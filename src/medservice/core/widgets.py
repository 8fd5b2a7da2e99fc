"""An autocomplete for a choice among many records (organisations, departments, ...): the page
carries only the chosen record, never the whole queryset, and the browser asks the owning app's
endpoint for matches as the user types.

The endpoint answers `GET <source>?q=<text>[&<depends_on>=<id>]` with
`{"results": [{"id", "label", "detail"}], "more": bool}` (see `autocomplete_response`); the
label is what the widget shows for a chosen record, so both come from the field's
`label_from_instance` (by default `str(record)`).

Validation stays with the field: a ModelChoiceField keeps its scoped queryset and refuses an id
outside it with its usual "select a valid choice" error; the widget only reads that queryset for
the one chosen row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import JsonResponse
from django.utils.functional import Promise

AUTOCOMPLETE_LIMIT = 20


class AutocompleteSelect(forms.Widget):
    """A text box to search in, and a hidden input holding the chosen record's id.

    The script drops the text box's name, so a submitted form carries the id alone. Without
    the script the text box is submitted too (as `<name>_search`), and the typed text is read
    as the chosen record's label (unchanged), a record's exact name, or an id.
    """

    template_name = "core/widgets/autocomplete.html"
    # Styled like a text input by the forms that add Bootstrap classes by input type.
    input_type = "text"
    search_suffix = "_search"

    def __init__(
        self,
        source: str | Promise,
        *,
        depends_on: str = "",
        name_field: str = "name",
        attrs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(attrs)
        self.source = source
        self.depends_on = depends_on
        self.name_field = name_field
        # Set by ModelChoiceField to its lazy iterator (queryset and field); never iterated here.
        self.choices: Any = ()

    def search_name(self, name: str) -> str:
        return f"{name}{self.search_suffix}"

    def _queryset(self) -> QuerySet | None:
        return getattr(self.choices, "queryset", None)

    def _record(self, value: Any) -> Model | None:
        """The chosen record, if it is in the field's queryset: one row, never the whole set."""
        queryset = self._queryset()
        if queryset is None or value in (None, ""):
            return None
        if isinstance(value, Model):
            value = value.pk
        try:
            return queryset.filter(pk=value).first()
        except (TypeError, ValueError, ValidationError):
            return None

    def _label(self, record: Model) -> str:
        field = getattr(self.choices, "field", None)
        if field is not None:
            return str(field.label_from_instance(record))
        return str(record)

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        record = self._record(value)
        if record is not None:
            chosen, label = str(record.pk), self._label(record)
        else:
            # An unknown or out-of-scope id shows as nothing chosen; typed text (no script)
            # comes back as it was typed, so it can be corrected.
            chosen = ""
            label = "" if value in (None, "") or str(value).isdigit() else str(value)
        widget = context["widget"]
        element_id = widget["attrs"].get("id") or f"autocomplete_{name}"
        widget.update(
            {
                "value": chosen,
                "label": label,
                "search_name": self.search_name(name),
                "source": str(self.source),
                "depends_on": self.depends_on,
                "listbox_id": f"{element_id}_listbox",
                "status_id": f"{element_id}_status",
            }
        )
        return context

    def value_from_datadict(self, data: Mapping[str, Any], files: Any, name: str) -> Any:
        chosen = data.get(name)
        search_name = self.search_name(name)
        if search_name not in data:
            # The script was at work (it submits the id alone), or a link or client sent the id.
            return chosen
        text = (data.get(search_name) or "").strip()
        if not text:
            return ""
        record = self._record(chosen)
        if record is not None and self._label(record) == text:
            return str(record.pk)
        queryset = self._queryset()
        if queryset is not None:
            named = list(
                queryset.filter(**{f"{self.name_field}__iexact": text}).values_list(
                    "pk", flat=True
                )[:2]
            )
            if len(named) == 1:
                return str(named[0])
        # An id typed by hand, or text the field refuses as "not one of the available choices".
        return text

    def value_omitted_from_data(self, data: Mapping[str, Any], files: Any, name: str) -> bool:
        return name not in data and self.search_name(name) not in data


def autocomplete_response(
    queryset: QuerySet,
    *,
    limit: int = AUTOCOMPLETE_LIMIT,
    label: Callable[[Any], str] = str,
    detail: Callable[[Any], str] = lambda record: "",
) -> JsonResponse:
    """The endpoint half of `AutocompleteSelect`: the first `limit` rows of an ordered, scoped
    queryset, and whether there are more (so the user is told to type on)."""
    rows = list(queryset[: limit + 1])
    return JsonResponse(
        {
            "results": [
                {"id": row.pk, "label": label(row), "detail": detail(row)} for row in rows[:limit]
            ],
            "more": len(rows) > limit,
        }
    )
