from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest


class UsernameOrEmailBackend(ModelBackend):
    """Sign in with either the username or the e-mail address (case-insensitive)."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if username is None or password is None:
            return None
        users = get_user_model()._default_manager
        login = username.strip()
        user = users.filter(username__iexact=login).first()
        if user is None and "@" in login:
            matches = list(users.filter(email__iexact=login)[:2])
            user = matches[0] if len(matches) == 1 else None
        if user is None:
            users.model().set_password(password)  # same time as a real check (no user probing)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
