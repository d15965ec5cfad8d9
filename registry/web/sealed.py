"""Document numbers kept across a refused form without being sent back in clear.

When a form with a document number is refused for another field, the number must not be
echoed into the page (browser cache, screenshots, a shared screen), yet nothing the user
typed may be lost. So the page carries it sealed: encrypted and authenticated with a key
derived from SECRET_KEY, bound to the user and the field, valid for 30 minutes. The box
shows the number masked with a hint; left empty, the sealed number is used again.
"""

from __future__ import annotations

import base64
import unicodedata

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from wtforms import StringField
from wtforms.widgets import HiddenInput, TextInput

from registry.person.identity import mask_document_number

SEALED_SUFFIX = "-sealed"
SEALED_SECONDS = 30 * 60
_INFO = b"registry: document numbers sealed into a refused form"


def _fernet() -> Fernet:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret)
    return Fernet(base64.urlsafe_b64encode(key))


def _binding(purpose: str) -> str:
    return f"{current_user.get_id()}\x1f{purpose}\x1f"


def seal(value: str, purpose: str) -> str:
    """``value`` encrypted for this user and this field only."""
    return _fernet().encrypt((_binding(purpose) + value).encode()).decode("ascii")


def unseal(token: str, purpose: str) -> str | None:
    """The sealed value, or None when forged, expired, or sealed for another user or field."""
    try:
        plain = _fernet().decrypt(token.encode("ascii"), ttl=SEALED_SECONDS).decode()
    except (InvalidToken, UnicodeError, ValueError):
        return None
    binding = _binding(purpose)
    return plain[len(binding) :] if plain.startswith(binding) else None


def masked_typed(value: str) -> str:
    """A typed document number as pages show it: compacted and masked."""
    compact = "".join(unicodedata.normalize("NFKC", value).split()).upper()
    return mask_document_number(compact)


class SealedNumberInput(TextInput):
    """An empty box (or hidden input) plus the sealed number and a masked hint."""

    def __call__(self, field, **kwargs) -> Markup:
        hidden = kwargs.pop("type", None) == "hidden"
        kwargs["value"] = ""
        box = HiddenInput()(field, **kwargs) if hidden else super().__call__(field, **kwargs)
        typed = (field.data or "").strip()
        if not typed:
            return box
        sealed = Markup('<input type="hidden" name="{}" value="{}">').format(
            field.name + SEALED_SUFFIX, seal(typed, field.name)
        )
        if hidden:
            return box + sealed
        hint = _(
            "Kept: %(number)s. Leave the box empty to use it, or type the number again.",
            number=masked_typed(typed),
        )
        return box + sealed + Markup('<p class="muted hint sealed-hint">{}</p>').format(hint)


class DocumentNumberField(StringField):
    """A document number that a refused form keeps sealed instead of echoing it."""

    widget = SealedNumberInput()

    def process(self, formdata, data=None, **kwargs) -> None:
        super().process(formdata, data, **kwargs)
        if formdata is None or (self.data or "").strip():
            return
        token = formdata.get(self.name + SEALED_SUFFIX)
        if token:
            self.data = unseal(token, self.name) or ""
