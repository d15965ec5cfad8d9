"""Pieces every form shares."""

from __future__ import annotations


class Mandatory:
    """Marks a field as one the user must fill in, for the page alone.

    The services decide what is required and say so beside the field; this only sets the
    field's ``mandatory`` flag, which templates/_forms.html turns into a visible mark and
    ``aria-required``. It is not WTForms' ``required`` flag on purpose: that one adds the
    HTML ``required`` attribute, whose browser bubble would replace the app's own message
    in the user's language and stop the form from keeping what was typed elsewhere.
    """

    field_flags = {"mandatory": True}

    def __call__(self, form, field) -> None:
        return None
