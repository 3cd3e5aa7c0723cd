"""ge2conn: predict whole-brain functional connectivity from gene expression and coordinates."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ge2conn")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
