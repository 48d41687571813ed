"""Generated requests (schemathesis, from the served OpenAPI description) never get a 5xx or an undocumented answer."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qms.api.app import ApiSettings
from qms.api.tokens import create_client
from tests.api.service import Released, dicom_bytes, multipart, serving

_VALID = dicom_bytes()
# Bodies for the DICOM media types: a valid instance, damaged copies of it, and arbitrary bytes.
schemathesis.openapi.media_type("application/dicom", st.sampled_from([_VALID, _VALID[:-100], _VALID[:200]])
                                | st.binary(max_size=512))
schemathesis.openapi.media_type('multipart/related; type="application/dicom"',
                                st.sampled_from([multipart([_VALID])[1], b""]) | st.binary(max_size=512))


def test_generated_requests_get_documented_answers(released: Released) -> None:
    """Every generated request to every operation, with a valid token, gets a status and body the description documents."""
    token = create_client(released.store, "fuzzer", ["tiny"], actor="admin")
    with serving(released, ApiSettings(rate=1e6, burst=10**6, max_bytes=1 << 16)) as server:
        schema = schemathesis.openapi.from_url(server.base + "/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert {op.path for op in operations} >= {"/v1/models", "/v1/models/{name}/infer"}
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            def check(case: Any) -> None:
                case.call_and_validate(headers={"Authorization": f"Bearer {token}"})

            check()
