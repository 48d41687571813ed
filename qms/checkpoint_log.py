"""The checkpoint log: a signed audit checkpoint after every release-critical event, kept outside the store.

A checkpoint signs the chain head (`qms.checkpoint`); the events after the last one are
covered by nothing, so one is taken automatically after each signature, promotion and
bundle, and after each refused passphrase and lock (the lockout reads its state from the
trail), and appended to this log as one JSON line. Each line is signed with the
checkpoint key (which never lives in the store) and names the sha256 of the line before
it, so a line cannot be edited, reordered or dropped from the middle. Verifying the
chain pins every checkpointed event of this store (`qms.audit.verify(pins=...)`): an
event deleted, rewritten or inserted before the last checkpoint is a break. Verifying
reads the key (or, where the private key is not kept, such as CI, its `.pub.pem` beside it)
and never creates one.

A checkpoint pins history but cannot tell who appended an event: anyone who can write the
store can append a correctly hashed one. So a command that records evidence seals when it
ends, naming in its signed line (`from`) the first event appended since it opened the store
(`attach`); the events a line witnesses run from there to its checkpoint. An event appended
around qmskit before a command opened lies in no line's range (`qms.gate.coverage`). A line
without `from` (older lines, a release's seals after its gate) witnesses the whole chain.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from qms import audit, checkpoint
from qms.atomic import write_bytes
from qms.checkpoint_carried import carried_checkpoints
from qms.errors import CheckFailed, QmsError
from qms.findings import Finding
from qms.hashing import canonical_json, sha256_hex
from qms.store import Store
from qms.store.records import AuditEvent

__all__ = [
    "CHECK", "KIND", "LOG_FILE", "LogState", "after_critical", "after_recording", "append", "attach", "check_head", "guard",
    "public_key_path", "read", "seal", "trusted_key", "verify_chain",
]

KIND = "qms-checkpoint-log/v1"
CHECK = "audit"
LOG_FILE = "checkpoints.log"
"""The log's file name in the project's records folder (beside the store, never inside it)."""


@dataclass
class LogState:
    """What a read of the log established: the pinned events of one store, the latest checkpoint, the problems."""

    pins: dict[int, str] = field(default_factory=dict)
    latest: checkpoint.Checkpoint | None = None
    lines: int = 0
    last_line_sha256: str = audit.GENESIS
    findings: list[Finding] = field(default_factory=list)
    witnessed: list[tuple[int, int]] = field(default_factory=list)
    """The (first, last) event ranges the lines of this store witness (see the module's docstring)."""

    def witnesses(self, seq: int) -> bool:
        return any(first <= seq <= last for first, last in self.witnessed)


def _body(prev: str, cp: checkpoint.Checkpoint, since: int | None) -> dict[str, Any]:
    return {"kind": KIND, "prev": prev, "checkpoint": cp.to_json(), **({} if since is None else {"from": since})}


def _line(prev: str, cp: checkpoint.Checkpoint, key: Ed25519PrivateKey, since: int | None) -> bytes:
    body = _body(prev, cp, since)
    return canonical_json({**body, "signature": base64.b64encode(key.sign(canonical_json(body))).decode()})


def _parse(raw: bytes, where: str, prev: str, trusted: Ed25519PublicKey | None) -> tuple[checkpoint.Checkpoint, int]:
    """One line, checked: its kind, its link to the line before, and (`trusted` given) its signature and its
    checkpoint's."""
    try:
        data: Any = json.loads(raw)
    except ValueError as exc:
        raise CheckFailed(f"the line is not JSON: {exc}", where=where) from exc
    if not isinstance(data, dict) or data.get("kind") != KIND:
        raise CheckFailed(f"the line is not a {KIND} entry", where=where)
    cp = checkpoint.Checkpoint.from_json(data.get("checkpoint"), where)
    if data.get("prev") != prev:
        raise CheckFailed("the line does not point at the line before it: lines were removed, edited or reordered",
                          where=where)
    since = data.get("from")
    if since is not None and not isinstance(since, int):
        raise CheckFailed("the line's `from` is not an event number", where=where)
    if trusted is None:
        return cp, 1 if since is None else since
    cp.check_signature(trusted, where)
    try:
        trusted.verify(base64.b64decode(str(data.get("signature", ""))), canonical_json(_body(prev, cp, since)))
    except (InvalidSignature, ValueError) as exc:
        raise CheckFailed("the line's signature is not valid: the log was altered", where=where) from exc
    return cp, 1 if since is None else since


def read(path: Path, store_id: str, trusted: Ed25519PublicKey | None, *, tail: bool = False) -> LogState:
    """Every line of the log, verified in order; problems are findings, the first one ends the read.

    `tail`: check every line's link but only the last line's signatures. Each line signs the sha256 of the one
    before it, so the last signature vouches for every earlier line's bytes: what a seal needs, at a cost flat in
    the log's length (the gate and `qms audit verify` check every signature)."""
    state = LogState()
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        return state
    except OSError as exc:
        state.findings.append(Finding(CHECK, str(path), f"the checkpoint log cannot be read: {exc.strerror}"))
        return state
    raws = content.splitlines()
    if raws and trusted is None:
        state.findings.append(Finding(CHECK, str(path), f"the log holds {len(raws)} signed checkpoint(s), but the "
                                      "checkpoint key that signed them is missing",
                                      "restore checkpoint-key.pem into QMS_HOME from backup"))
        return state
    for number, raw in enumerate(raws, 1):
        where = f"{path}:{number}"
        try:
            cp, since = _parse(raw, where, state.last_line_sha256, None if tail and number < len(raws) else trusted)
        except QmsError as exc:
            state.findings.append(Finding(CHECK, where, exc.message, exc.hint or "the checkpoint log is append-only; "
                                          "restore it from backup and investigate", where=where))
            return state
        state.lines, state.last_line_sha256 = number, sha256_hex(raw)
        if cp.store_id != store_id:
            continue  # the project's earlier store (a move to PostgreSQL): its events are not this chain's
        if state.latest is not None and cp.seq < state.latest.seq:
            state.findings.append(Finding(CHECK, where, f"checkpoint of event {cp.seq} follows one of event "
                                          f"{state.latest.seq}: the chain was rolled back", where=where))
            return state
        state.pins[cp.seq] = cp.head_hash
        state.latest = cp
        state.witnessed.append((since, cp.seq))
    return state


def append(path: Path, key: Ed25519PrivateKey, cp: checkpoint.Checkpoint, since: int | None = None) -> None:
    """Append one signed line, linked to the last one, under an exclusive lock so concurrent writers queue."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    with os.fdopen(fd, "r+b") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        lines = f.read().splitlines()
        prev = sha256_hex(lines[-1]) if lines else audit.GENESIS
        f.write(_line(prev, cp, key, since) + b"\n")
        f.flush()
        os.fsync(f.fileno())


def public_key_path(key_path: Path) -> Path:
    """Where the key's public half is kept beside it: what a verifier without the private key (CI) is given."""
    return key_path.with_name(key_path.name.replace(".pem", ".pub.pem"))


def trusted_key(key_path: Path) -> Ed25519PublicKey | None:
    """The checkpoint key's public half (from the key, else its .pub.pem), or None when there is none yet.

    A verification never creates a key.
    """
    if key_path.exists():
        return checkpoint.load_key(key_path).public_key()
    public = public_key_path(key_path)
    return checkpoint.load_public_key(public, "checkpoint public key") if public.exists() else None


def verify_chain(store: Store, log_path: Path, trusted: Ed25519PublicKey | None) -> tuple[audit.ChainReport, LogState]:
    """Recompute the chain with every checkpointed event of this store pinned; the log's own problems are in the state."""
    state = read(log_path, store.store_id, trusted)
    return audit.verify(store, pins=state.pins), state


def _verify_tail(store: Store, log_path: Path, trusted: Ed25519PublicKey) -> tuple[audit.ChainReport, LogState]:
    """`verify_chain` from the log's latest checkpoint on: what sealing needs, flat in the chain's and log's length.
    The events before it are vouched for by its signature; the gate recomputes them whole."""
    state = read(log_path, store.store_id, trusted, tail=True)
    latest = state.latest
    start = None if latest is None or state.findings else (latest.seq, latest.head_hash)
    return audit.verify(store, pins=state.pins, start=start), state


def _refuse_behind_bundles(store_id: str, log_path: Path, trusted: Ed25519PublicKey, state: LogState) -> None:
    """A log older than a checkpoint a bundle carries lost its tail: sealing on would hide that, so refuse."""
    for carried in carried_checkpoints(log_path.parent):
        cp = carried.checkpoint
        if cp is None or cp.store_id != store_id or (state.latest is not None and state.latest.seq >= cp.seq):
            continue
        try:
            cp.check_signature(trusted, str(carried.bundle))
        except QmsError:
            continue  # not this key's checkpoint: the gate names the bundle
        raise CheckFailed(f"refusing to checkpoint: the bundle carries a checkpoint of audit event {cp.seq}, newer than "
                          "the checkpoint log's latest: the log's tail was cut or the log deleted", where=str(carried.bundle),
                          hint="restore the checkpoint log from backup and investigate")


def _refuse_a_broken_log(state: LogState, log_path: Path, refusing: str) -> None:
    """The log's first problem, as a refusal: nothing is sealed or unlocked over an altered log."""
    if state.findings:
        first = state.findings[0]
        raise CheckFailed(f"{refusing}: {first.reason}", where=first.where or str(log_path), hint=first.hint)


def seal(store: Store, key_path: Path, log_path: Path, since: int | None = None) -> checkpoint.Checkpoint:
    """Checkpoint the chain after a release-critical event; refuse (CheckFailed) over a broken chain or log.

    `since`: the first event of the command sealing, so the line witnesses only the events from it; None: all."""
    key = checkpoint.load_or_create_key(key_path)
    public = public_key_path(key_path)
    if not public.exists():
        write_bytes(public, key.public_key().public_bytes(serialization.Encoding.PEM,
                                                          serialization.PublicFormat.SubjectPublicKeyInfo))
    report, state = _verify_tail(store, log_path, key.public_key())
    _refuse_a_broken_log(state, log_path, "refusing to checkpoint")
    if report.first_break is not None:
        raise CheckFailed(f"refusing to checkpoint a broken audit chain (event {report.first_break.seq}: "
                          f"{report.first_break.reason})", where=f"audit event {report.first_break.seq}",
                          hint="run `qms audit verify`; restore the store from backup and investigate")
    _refuse_behind_bundles(store.store_id, log_path, key.public_key(), state)
    latest = state.latest
    if (latest is not None and (latest.seq, latest.head_hash) == (report.head_seq, report.head_hash)
            and state.witnessed[-1][0] <= (since or 1)):
        return latest  # nothing happened since the latest checkpoint: it already covers the head (and these events)
    cp = checkpoint.create(store, key, head=(report.head_seq, report.head_hash))
    append(log_path, key, cp, since)
    return cp


def check_head(store: Store, key_path: Path, log_path: Path) -> None:
    """Refuse (CheckFailed) when the chain lost what the log's latest checkpoint names: the cheap check (the log's
    signatures and one event, not the whole chain) before anything that reads its state from the trail, such as the
    wrong-passphrase lockout, so events deleted after a checkpoint cannot reset it."""
    trusted = trusted_key(key_path)
    state = read(log_path, store.store_id, trusted, tail=True)
    _refuse_a_broken_log(state, log_path, "refusing")
    latest = state.latest
    if latest is not None:
        with store.reader() as session:
            event = session.get(AuditEvent, latest.seq)
        if event is None or event.hash != latest.head_hash:
            raise CheckFailed(f"refusing: the checkpoint log's latest checkpoint names audit event {latest.seq}, which "
                              f"the chain {'lacks' if event is None else 'holds with another hash'}: events after it "
                              "were deleted or rewritten", where=f"audit event {latest.seq}",
                              hint="run `qms audit verify`; restore the store from backup and investigate")
    if trusted is not None:
        _refuse_behind_bundles(store.store_id, log_path, trusted, state)


@dataclass(frozen=True)
class _Attached:
    """The project's log a store seals into (`attach`): sealing is the call, `check_head` the cheap guard."""

    store: Store
    key_path: Path
    log_path: Path
    since: int
    """The first event appended after the store was attached: what this process's seals witness."""

    def __call__(self) -> checkpoint.Checkpoint:
        return seal(self.store, self.key_path, self.log_path, self.since)

    def appended(self) -> bool:
        return audit.head(self.store)[0] >= self.since

    def check_head(self) -> None:
        check_head(self.store, self.key_path, self.log_path)


def attach(store: Store, identity_dir: Path, records_dir: Path) -> None:
    """Make `store` checkpoint itself after every release-critical event the library records (a signature, a refused
    passphrase, a lock), into the log of the project whose records live in `records_dir`, with the key in
    `identity_dir`: nothing waits for a caller to remember to seal."""
    store.checkpointer = _Attached(store, identity_dir / checkpoint.KEY_FILE, records_dir / LOG_FILE,
                                   audit.head(store)[0] + 1)


def after_recording(store: Store, since: int | None = None) -> None:
    """At the end of a command: seal the events appended since `attach` (by it or by a child such as pytest), so
    each is witnessed by the key; an event appended around qmskit before it stays in no signed range. `since`: the
    first event of one action of a long-lived process (a browser's link review in `qms serve`), sealed from there."""
    attached = store.checkpointer
    if not isinstance(attached, _Attached):
        return
    if since is not None:
        attached = replace(attached, since=since)
    if not attached.appended():
        return
    if not attached.key_path.exists() and public_key_path(attached.key_path).exists():
        raise CheckFailed("this machine holds only the checkpoint key's public half, so it cannot seal",
                          where=str(attached.key_path), hint="record evidence on a machine holding the checkpoint key")
    attached()


def guard(store: Store) -> None:
    """`check_head` against the attached log, if any: a store attached to none has no log to answer to."""
    if isinstance(store.checkpointer, _Attached):
        store.checkpointer.check_head()


def after_critical(store: Store) -> None:
    """Called after a release-critical event committed: seal it into the attached log (`attach`), if any."""
    if store.checkpointer is not None:
        store.checkpointer()
