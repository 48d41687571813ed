"""A STOW-RS body is split into exactly the parts the email package's MIME parser finds (RFC 2046 §5.1.1), on the
bytes, whatever the parts hold (CR, LF and dashes), with a preamble, an epilogue or a base64 part."""

from __future__ import annotations

import base64
import email.parser
import email.policy

import numpy as np
import pytest

from qms.api.ingest import IngestError, _parts

TYPE = 'multipart/related; type="application/dicom"; boundary="b-1"'


def _email_parts(body: bytes) -> list[bytes]:
    """The reference: the parts as the email package decodes them."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + TYPE.encode() + b"\r\n\r\n" + body)
    return [p.get_payload(decode=True) for p in message.iter_parts()]  # type: ignore[misc]


def _body(payloads: list[bytes], *, preamble: bytes = b"", epilogue: bytes = b"", encode_first: bool = False) -> bytes:
    out = preamble + (b"\r\n" if preamble else b"")
    for i, payload in enumerate(payloads):
        headers = b"Content-Type: application/dicom\r\n"
        if encode_first and i == 0:
            headers += b"Content-Transfer-Encoding: base64\r\n"
            payload = base64.encodebytes(payload)
        out += b"--b-1\r\n" + headers + b"\r\n" + payload + b"\r\n"
    return out + b"--b-1--\r\n" + epilogue


@pytest.mark.parametrize("seed", range(5))
def test_parts_are_those_the_email_parser_finds(seed: int) -> None:
    """Random binary parts full of CRLF and dashes, with a preamble, an epilogue and a base64 first part, come out
    byte for byte as the email package's parser gives them."""
    rng = np.random.default_rng(seed)
    alphabet = np.frombuffer(b"\r\n-b1 xDICM\x00\xff", dtype=np.uint8)
    payloads = [rng.choice(alphabet, int(rng.integers(1, 3000))).tobytes() for _ in range(3)]
    body = _body(payloads, preamble=b"a preamble", epilogue=b"an epilogue\r\n", encode_first=True)
    assert _parts(TYPE, body) == _email_parts(body) == payloads


def test_a_part_without_headers_is_not_dicom() -> None:
    """A part with no Content-Type is text/plain (RFC 2045 §5.2): refused with 415, naming the part."""
    with pytest.raises(IngestError) as exc:
        _parts(TYPE, b"--b-1\r\n\r\nDICM\r\n--b-1--")
    assert exc.value.status == 415 and exc.value.where == "part 1" and "text/plain" in exc.value.message


def test_a_body_without_the_boundary_has_no_parts() -> None:
    """A body that never names the declared boundary is a 400 saying it has no parts."""
    with pytest.raises(IngestError) as exc:
        _parts(TYPE, b"--other\r\nContent-Type: application/dicom\r\n\r\nx\r\n--other--")
    assert exc.value.status == 400 and "no parts" in exc.value.message
