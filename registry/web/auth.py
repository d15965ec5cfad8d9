"""Who is asking: the logged-in account, and role checks for views."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask_login import current_user, login_required

from registry.accounts.models import Role, UserAccount
from registry.errors import NotFound


def current_actor() -> UserAccount:
    """The account of the logged-in user, attached to this request's session."""
    return current_user.account


def roles_required(*roles: Role) -> Callable:
    """Log-in required, and one of ``roles``; others get 404 so the page's existence is hidden."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if current_actor().role not in roles:
                raise NotFound()
            return view(*args, **kwargs)

        return wrapper

    return decorate
