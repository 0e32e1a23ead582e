"""The languages the web pages are written in: the one list both the pages (which catalogue
to show) and the members' language setting (which values it takes) read."""

from __future__ import annotations

# Adding one means translating every page into it (docs/web.md, "Adding a language").
PAGE_LANGUAGES = ("en", "fr")
