"""Form base: Bootstrap classes, the signed-in user for scoped choices, and the record version
that guards an edit against a concurrent save."""

from __future__ import annotations

from typing import Any

from django import forms


class ResourceForm(forms.ModelForm):
    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select | forms.SelectMultiple):
                widget.attrs.setdefault("class", "form-select")
            else:
                widget.attrs.setdefault("class", "form-control")
        self.version = getattr(self.instance, "version", None) if self.instance.pk else None

    def save(self, commit: bool = True) -> Any:  # pragma: no cover - services save, not forms
        raise NotImplementedError("Resource forms validate only; services save.")
