"""Post-market monitoring: production inference records against the locked validation run (`qms monitor`)."""

__all__: list[str] = []
