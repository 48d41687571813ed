"""qmskit: a QMS-centric validation and release system for medical-imaging AI."""

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    """`qms.__version__`, read from the installed metadata only when asked (the scan costs every command ~50 ms)."""
    if name != "__version__":
        raise AttributeError(f"module 'qms' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("qmskit")
    except PackageNotFoundError:  # running from a source tree that is not installed
        found = "0.0.0+source"
    globals()["__version__"] = found  # read once
    return found
