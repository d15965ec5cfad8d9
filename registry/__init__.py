"""Rental-housing and transient-population registry.

Importing the package makes Flask-Babel's lazy strings escape themselves in HTML before
any message is made or shown (see registry/i18n.py).
"""

from registry.i18n import make_lazy_strings_text

make_lazy_strings_text()
