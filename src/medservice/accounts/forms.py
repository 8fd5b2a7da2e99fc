from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from medservice.accounts.models import User


class LoginForm(AuthenticationForm):
    username = forms.CharField(
        label=_("Username or e-mail"),
        max_length=254,
        widget=forms.TextInput(
            attrs={"autofocus": True, "autocomplete": "username", "class": "form-control"}
        ),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(
            attrs={"autocomplete": "current-password", "class": "form-control"}
        ),
    )
    error_messages = {
        "invalid_login": _(
            "The username (or e-mail) or the password is not correct. The password is "
            "case-sensitive; after repeated failures the account is locked for a while."
        ),
        "inactive": _("This account is disabled. Ask your administrator."),
    }


class PreferencesForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["language", "time_zone", "email", "phone"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.setdefault(
                "class", "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            )

    def clean_time_zone(self) -> str:
        import zoneinfo

        value = self.cleaned_data["time_zone"]
        if value not in zoneinfo.available_timezones():
            raise forms.ValidationError(_("Unknown time zone: %(zone)s.") % {"zone": value})
        return value
