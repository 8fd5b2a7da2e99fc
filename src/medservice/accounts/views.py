from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_post_parameters

from medservice.accounts.forms import LoginForm, PreferencesForm
from medservice.accounts.ratelimit import rate_limited
from medservice.accounts.services import user_update_preferences


@method_decorator(sensitive_post_parameters("password"), name="dispatch")
class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if rate_limited(request, scope="login"):
            form = self.get_form()
            form.is_bound = False
            return render(
                request,
                self.template_name,
                {
                    "form": self.authentication_form(request),
                    "error": _(
                        "Too many sign-in attempts from this address. Wait a minute and try again."
                    ),
                },
                status=429,
            )
        return super().post(request, *args, **kwargs)


class LogoutView(auth_views.LogoutView):
    pass


class PasswordResetView(auth_views.PasswordResetView):
    """The public "forgot password" form, limited per address (issue 12 security): each post
    may send an e-mail, so an unlimited form is a way to flood someone's mailbox."""

    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if rate_limited(request, scope="password_reset"):
            form = self.get_form()
            form.add_error(
                "email", _("Too many requests from this address. Wait a while and try again.")
            )
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)


def lockout_message() -> str:
    minutes = round(float(settings.AXES_COOLOFF_TIME) * 60)
    return ngettext(
        "This account is locked after repeated failed sign-ins. Try again in %(minutes)d "
        "minute or ask your administrator to unlock it.",
        "This account is locked after repeated failed sign-ins. Try again in %(minutes)d "
        "minutes or ask your administrator to unlock it.",
        minutes,
    ) % {"minutes": minutes}


def locked_out(
    request: HttpRequest, credentials: Any = None, *args: Any, **kwargs: Any
) -> HttpResponse:
    if request.path.startswith("/api/"):
        from medservice.core.api.errors import error_body

        return JsonResponse(error_body("locked_out", lockout_message()), status=429)
    return render(
        request,
        "accounts/login.html",
        {"form": LoginForm(request), "error": lockout_message()},
        status=429,
    )


@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    form = PreferencesForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        user_update_preferences(actor=request.user, user=request.user, data=form.cleaned_data)
        translation.activate(request.user.language)
        response = redirect("accounts:preferences")
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            request.user.language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            samesite="Lax",
        )
        messages.success(request, _("Your preferences are saved."))
        return response
    return render(
        request, "accounts/preferences.html", {"form": form}, status=400 if form.errors else 200
    )
