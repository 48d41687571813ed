"""The inference service's append-only records: API clients (hashed tokens, model scopes) and inferences.

A token is never stored: only the sha256 of it. Revoking a client is a new `ApiClient`
row superseding the old one with `active=False` (nothing is ever updated). An inference
row names its input by digest and its patient and study by pseudonym only.
"""

from __future__ import annotations

from sqlalchemy import Column, Text
from sqlmodel import Field

from qms.store import Record

__all__ = ["ApiClient", "InferenceRecord"]


class ApiClient(Record, table=True):
    """An API identity: its name, the sha256 of its token, the models it may call."""

    __tablename__ = "api_client"

    name: str = Field(max_length=100, index=True)
    token_sha256: str = Field(max_length=64, index=True)
    models: str = Field(sa_column=Column(Text, nullable=False), description="JSON list of model names it may call")
    active: bool = True
    actor: str = Field(max_length=200)


class InferenceRecord(Record, table=True):
    """One answered (or refused-for-input) inference request, for post-market monitoring."""

    __tablename__ = "api_inference"

    request_id: str = Field(max_length=32, index=True)
    client: str = Field(max_length=100)
    model_ref: str = Field(max_length=160, index=True)
    model_digest: str = Field(max_length=64)
    input_sha256: str = Field(max_length=64, description="sha256 over the request's DICOM instances, in order")
    pseudonyms: str = Field(sa_column=Column(Text, nullable=False), description="JSON: keyed patient/study pseudonyms")
    inputs: str = Field(sa_column=Column(Text, nullable=False),
                        description="JSON list per instance: acquisition attributes and image statistics (no PHI)")
    output: str = Field(sa_column=Column(Text, nullable=False), description="JSON list per instance: label -> score")
    latency_ms: float
