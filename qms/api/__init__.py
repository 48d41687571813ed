"""The inference service: released production models behind an authenticated HTTP API (`qms api serve`)."""

__all__: list[str] = []
