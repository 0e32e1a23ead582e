"""The web pages for residents and managers: server-rendered HTML in French and English.

``setup_web(app)`` adds the templates, translations, static files and pages to the node's
application; ``security_headers`` is the middleware that protects every HTML response. See
docs/web.md.
"""

from __future__ import annotations

from node.web.setup import security_headers, setup_web

__all__ = ["security_headers", "setup_web"]
