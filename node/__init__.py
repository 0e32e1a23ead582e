"""The Quartier node: web application, CLI, configuration, storage and the neighbourhood domain.

Top of the layer stack: it may import :mod:`federation`, :mod:`moderation` and
:mod:`activitypub`; nothing imports it.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("quartier")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
