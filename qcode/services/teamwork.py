"""Team work: coder bundles, merging them into a master project, blind coding.

A coder bundle (``.qcb``) is one zip file holding ``bundle.json``: one coder's
codings and memos, the coder's identity, the codebooks involved (with their
revision numbers and code ids) and the hashes of the documents involved. A zip
rather than bare JSON because bundles travel by e-mail and shared folders: it
compresses the quoted text well, it is one opaque file that editors leave
alone, and it leaves room for more members in later format versions. Unzipped,
``bundle.json`` is plain, sorted, indented JSON that diffs cleanly; a bare
``bundle.json`` is accepted on import too. The same project state always gives
the same bytes.

Merging matches documents by the SHA-256 of their stored text (the current
version, or an older one: codings made on an older version are re-anchored on
the current text by exact match), codes by their stable id and coders by id,
never by display names. Everything is checked before anything is written; a
bundle with conflicts (an unknown document or code, a span that no longer fits)
changes nothing and the report lists every conflict. A clean bundle goes in as
one undoable event, and importing the same bundle again changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qcode.codebook import ID_PATTERN
from qcode.errors import InputError, NotFound
from qcode.services.projects import default_actor
from qcode.store import Store

__all__ = [
    "AGREEMENT_EVENT",
    "BLIND_EVENT",
    "BLIND_SETTING",
    "BUNDLE_FORMAT",
    "BUNDLE_VERSION",
    "BundleInfo",
    "BundleReport",
    "bundle_bytes",
    "export_bundle",
    "import_bundle",
    "is_blind",
    "mark_agreement_computed",
    "set_blind",
    "visible_coders",
]

BUNDLE_FORMAT = "qcode-bundle"
BUNDLE_VERSION = 1
BUNDLE_MEMBER = "bundle.json"
MAX_BUNDLE_BYTES = 256 * 1024 * 1024
BLIND_SETTING = "blind_coding"
BLIND_EVENT = "settings.blind"
AGREEMENT_EVENT = "agreement.computed"
_HINT = "export the bundle again with 'qcode bundle export'"


# -- export ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BundleInfo:
    """What ``export_bundle`` wrote."""

    path: Path
    coder: str
    codings: int
    memos: int
    documents: int
    codebooks: tuple[str, ...]
    sha256: str


def _bundle_data(store: Store, coder_id: str) -> dict[str, Any]:
    from qcode import __version__

    coder = store.coder(coder_id)
    if coder is None:
        raise NotFound(f"no coder {coder_id!r}", "list coders with 'qcode coders list'")
    documents: dict[str, str] = {}
    codings = []
    for uid, sha, name, start, end, code_id, memo, created, text in \
            store.coder_codings_for_export(coder.id):
        documents.setdefault(sha, name)
        codings.append({"uid": uid, "document": {"sha256": sha, "name": name},
                        "start": start, "end": end, "code": code_id, "memo": memo,
                        "created": created, "text": text})
    heads = store.document_heads()
    memos = []
    for m in store.memos():
        if m.author != coder.id:
            continue
        target: Any = m.target
        if m.scope == "document":
            if m.target not in heads:
                continue
            sha, name = heads[str(m.target)]
            documents.setdefault(sha, name)
            target = {"sha256": sha, "name": name}
        memos.append({"scope": m.scope, "target": target, "title": m.title, "body": m.body,
                      "created": m.created_at, "updated": m.updated_at})
    memos.sort(key=lambda m: (m["scope"], json.dumps(m["target"], sort_keys=True),
                              m["created"], m["body"]))
    used = {c["code"] for c in codings} | {m["target"] for m in memos if m["scope"] == "code"}
    books = []
    for book_id, name, _version, _n in store.codebook_names():
        ids = [c.id for c in store.codes(book_id)]
        if used & set(ids):
            books.append({"name": name, "revision": store.codebook_revision(book_id),
                          "codes": ids})
    return {
        "format": BUNDLE_FORMAT, "format_version": BUNDLE_VERSION,
        "qcode_version": __version__,
        "project": {"uid": store.get_setting("project_uid", ""), "name": store.path.stem},
        "coder": {"id": coder.id, "name": coder.name},
        "codebooks": books,
        "documents": [{"sha256": sha, "name": documents[sha]}
                      for sha in sorted(documents, key=lambda s: (documents[s], s))],
        "codings": codings,
        "memos": memos,
    }


def _encode(data: dict[str, Any]) -> bytes:
    from qcode.refi_project import _zip_bytes

    text = json.dumps(data, ensure_ascii=False, sort_keys=True, indent=1) + "\n"
    return _zip_bytes([(BUNDLE_MEMBER, text.encode("utf-8"))])


def bundle_bytes(store: Store, coder: str) -> bytes:
    """The bundle of a coder as bytes (a deterministic zip holding ``bundle.json``)."""
    return _encode(_bundle_data(store, coder))


def export_bundle(store: Store, coder: str, out: Path) -> BundleInfo:
    """Write one coder's codings and memos as a bundle file for merging elsewhere."""
    from qcode.refi import write_bytes_atomic

    data = _bundle_data(store, coder)
    raw = _encode(data)
    out = Path(out)
    write_bytes_atomic(out, raw)
    return BundleInfo(out, data["coder"]["id"], len(data["codings"]), len(data["memos"]),
                      len(data["documents"]), tuple(b["name"] for b in data["codebooks"]),
                      hashlib.sha256(raw).hexdigest())


# -- reading a bundle safely -----------------------------------------------------------


def _read_bundle(path: Path) -> tuple[dict[str, Any], str]:
    from qcode.refi_project import open_archive, read_limited

    where = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BUNDLE_BYTES:
            raise InputError(f"{where}: refused: the file is {size // 2**20} MiB "
                             f"(at most {MAX_BUNDLE_BYTES // 2**20} MiB)", _HINT)
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{where}: cannot be read ({exc.strerror or exc})",
                         "check the path and the file's permissions") from exc
    sha = hashlib.sha256(raw).hexdigest()
    if raw[:2] == b"PK":
        zf = open_archive(raw, where, "qcode bundle", _HINT)
        if BUNDLE_MEMBER not in zf.namelist():
            raise InputError(f"{where}: not a qcode bundle ({BUNDLE_MEMBER} is missing)",
                             _HINT)
        raw = read_limited(zf, BUNDLE_MEMBER, where, MAX_BUNDLE_BYTES, _HINT)
        where = f"{where}!{BUNDLE_MEMBER}"
    elif not raw.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        raise InputError(f"{where}: not a qcode bundle (neither a zip nor JSON)", _HINT)
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise InputError(f"{where}: not UTF-8 (byte {exc.start})", _HINT) from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}:{exc.lineno}: not valid JSON ({exc.msg})", _HINT) from exc
    if not isinstance(data, dict) or data.get("format") != BUNDLE_FORMAT:
        raise InputError(f"{where}: not a qcode bundle (no \"format\": \"{BUNDLE_FORMAT}\")",
                         _HINT)
    version = data.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise InputError(f"{where}: the bundle has no valid format_version", _HINT)
    if version > BUNDLE_VERSION:
        raise InputError(f"{where}: bundle format {version} was made by a newer qcode "
                         f"(this one reads format {BUNDLE_VERSION})", "upgrade qcode")
    return data, sha


class _Shape:
    """Type checks on the parsed JSON, raising one-line InputErrors naming the file."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, what: str) -> InputError:
        return InputError(f"{self.where}: damaged bundle: {what}", _HINT)

    def get(self, obj: Any, key: str, kind: type | tuple[type, ...], what: str,
            optional: bool = False) -> Any:
        if not isinstance(obj, dict):
            raise self.fail(f"{what} is not an object")
        if key not in obj:
            if optional:
                return None
            raise self.fail(f"{what} has no {key!r}")
        value = obj[key]
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
            raise self.fail(f"{what}: {key!r} has the wrong type")
        return value

    def items(self, data: dict[str, Any], key: str) -> list[Any]:
        value = data.get(key, [])
        if not isinstance(value, list):
            raise self.fail(f"{key!r} is not a list")
        return value


# -- import ----------------------------------------------------------------------------


@dataclass
class BundleReport:
    """What importing a bundle did, or (with conflicts) why it did nothing."""

    path: str
    coder: str
    source_project: str = ""
    sha256: str = ""
    dry_run: bool = False
    coder_created: bool = False
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    reanchored: int = 0
    memos_added: int = 0
    memos_unchanged: int = 0
    conflicts: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    event_id: int | None = None

    @property
    def applied(self) -> bool:
        """True if the bundle went in (or, in a dry run, would)."""
        return not self.conflicts

    @property
    def changed(self) -> bool:
        """True if the project changed (or, in a dry run, would)."""
        return self.applied and bool(self.coder_created or self.added or self.updated
                                     or self.memos_added)

    def lines(self) -> list[str]:
        """The report as text lines, for the CLI."""
        verb = "would merge" if self.dry_run else "merged"
        if self.conflicts:
            out = [f"{self.path}: NOT merged: {len(self.conflicts)} conflicts "
                   "(nothing was written)"]
            out.extend(f"  conflict: {c}" for c in self.conflicts)
        else:
            out = [f"{self.path}: {verb} the bundle of {self.coder}: {self.added} codings "
                   f"added, {self.updated} updated, {self.unchanged} already there, "
                   f"{self.duplicates} duplicates skipped, {self.reanchored} re-anchored; "
                   f"{self.memos_added} memos added, {self.memos_unchanged} already there"
                   + ("; new coder" if self.coder_created else "")]
        out.extend(f"  note: {w}" for w in self.warnings)
        return out


@dataclass
class _Planned:
    values: dict[str, Any]
    existing_id: int | None = None


def _short(text: str, n: int = 40) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= n else flat[:n - 1] + "…"


def import_bundle(store: Store, path: Path, actor: str | None = None, *,
                  dry_run: bool = False) -> BundleReport:
    """Merge a coder bundle into this (master) project: all of it, or with conflicts nothing.

    Returns a report; ``report.conflicts`` lists everything that stopped the merge.
    With ``dry_run`` the checks run and the report says what would change.
    """
    from qcode.refi_project import anchor_span
    from qcode.store.db import utc_now

    actor = actor or default_actor()
    path = Path(path)
    now = utc_now()
    data, sha = _read_bundle(path)
    shape = _Shape(str(path))
    coder_obj = shape.get(data, "coder", dict, "the bundle")
    coder_id = shape.get(coder_obj, "id", str, "the coder")
    coder_name = shape.get(coder_obj, "name", str, "the coder", optional=True) or coder_id
    if not ID_PATTERN.match(coder_id):
        raise shape.fail(f"coder id {coder_id!r} is not valid")
    project = data.get("project")
    source = str(project.get("uid") or "") if isinstance(project, dict) else ""
    report = BundleReport(str(path), coder_id, source, sha, dry_run)

    # Documents: by hash, current version first.
    doc_cache: dict[str, Any] = {}

    def find_doc(ref: Any, what: str) -> Any:
        sha256 = shape.get(ref, "sha256", str, what)
        if sha256 not in doc_cache:
            versions = store.versions_by_sha(sha256)
            doc_cache[sha256] = versions[0] if versions else None
        return doc_cache[sha256]

    missing_docs: dict[str, list[int]] = {}
    codes = {c.id for c in store.codes()}
    missing_codes: dict[str, int] = {}
    planned: list[_Planned] = []
    bundle_uids: set[str] = set()
    alias: dict[str, str] = {}
    current_cache: dict[str, Any] = {}
    for n, item in enumerate(shape.items(data, "codings"), start=1):
        what = f"coding {n}"
        uid = shape.get(item, "uid", str, what)
        doc_ref = shape.get(item, "document", dict, what)
        start = shape.get(item, "start", int, what)
        end = shape.get(item, "end", int, what)
        code_id = shape.get(item, "code", str, what)
        memo = shape.get(item, "memo", str, what, optional=True) or ""
        created = shape.get(item, "created", str, what, optional=True) or now
        quoted = shape.get(item, "text", str, what, optional=True)
        if uid in bundle_uids:
            report.conflicts.append(f"the bundle lists coding {uid} twice")
            continue
        bundle_uids.add(uid)
        doc = find_doc(doc_ref, what)
        name = str(doc_ref.get("name") or "?")
        if doc is None:
            missing_docs.setdefault(f"{name} ({doc_ref['sha256'][:12]})", []).append(n)
            continue
        if code_id not in codes:
            missing_codes[code_id] = missing_codes.get(code_id, 0) + 1
            continue
        if not 0 <= start < end <= len(doc.text) or \
                (quoted is not None and doc.text[start:end] != quoted):
            report.conflicts.append(f"coding {uid} on {name} {start}-{end}: the span does not "
                                    "fit the document's text")
            continue
        target_id, target_start, target_end = doc.id, start, end
        if not doc.is_current:
            if doc.uid not in current_cache:
                current_cache[doc.uid] = store.current_version(doc.uid)
            current = current_cache[doc.uid]
            place = anchor_span(doc.text, current.text, start, end) if current else None
            if place is None:
                report.conflicts.append(
                    f"coding {uid} ({code_id}) on {name} {start}-{end} "
                    f"«{_short(doc.text[start:end])}»: the text changed in version "
                    f"{current.version if current else '?'} and the span is not found there")
                continue
            target_id, (target_start, target_end) = current.id, place
            report.reanchored += 1
        values = {"uid": uid, "document_id": target_id, "start": target_start,
                  "end": target_end, "code_id": code_id, "coder_id": coder_id, "memo": memo,
                  "created_at": created}
        row = store.coding_row_by_uid(uid)
        if row is not None:
            if row.coder_id != coder_id:
                report.conflicts.append(f"coding {uid} belongs to {row.coder_id} in this "
                                        f"project, not to {coder_id}")
                continue
            same = (row.document_id, row.start, row.end, row.code_id, row.memo) == \
                (target_id, target_start, target_end, code_id, memo)
            if same:
                report.unchanged += 1
            else:
                planned.append(_Planned(values, row.id))
            continue
        twin = store.find_coding(target_id, target_start, target_end, code_id, coder_id)
        if twin is not None:
            alias[uid] = store.coding(twin).uid  # coding memos follow to the master's twin
            report.duplicates += 1
            continue
        planned.append(_Planned(values))
    for label, numbers in missing_docs.items():
        report.conflicts.append(f"unknown document {label}: {len(numbers)} codings refer to it"
                                " (import that text first)")
    for code_id, count in sorted(missing_codes.items()):
        report.conflicts.append(f"unknown code {code_id!r}: {count} codings use it (load the "
                                "codebook revision the coder used)")

    # Memos: by scope and target, de-duplicated on (scope, target, author, body).
    memo_rows: list[dict[str, Any]] = []
    seen: set[tuple[str, str | None, str]] = set()
    for n, item in enumerate(shape.items(data, "memos"), start=1):
        what = f"memo {n}"
        scope = shape.get(item, "scope", str, what)
        body = shape.get(item, "body", str, what)
        title = shape.get(item, "title", str, what, optional=True) or ""
        created = shape.get(item, "created", str, what, optional=True) or now
        updated = shape.get(item, "updated", str, what, optional=True) or created
        raw_target = item.get("target")
        target: str | None
        if scope == "project":
            target = None
        elif scope == "document":
            doc = find_doc(raw_target, what)
            if doc is None:
                name = raw_target.get("name", "?") if isinstance(raw_target, dict) else "?"
                report.conflicts.append(f"memo {n}: unknown document {name}")
                continue
            target = doc.uid
        elif scope == "code":
            if not isinstance(raw_target, str) or raw_target not in codes:
                report.conflicts.append(f"memo {n}: unknown code {raw_target!r}")
                continue
            target = raw_target
        elif scope == "coding":
            if not isinstance(raw_target, str) or (
                    raw_target not in bundle_uids
                    and store.coding_row_by_uid(raw_target) is None):
                report.conflicts.append(f"memo {n}: unknown coding {raw_target!r}")
                continue
            target = alias.get(raw_target, raw_target)
        else:
            raise shape.fail(f"{what}: unknown scope {scope!r}")
        key = (scope, target, body)
        if key in seen or store.memo_exists(scope, target, coder_id, body):
            report.memos_unchanged += 1
            continue
        seen.add(key)
        memo_rows.append({"scope": scope, "target": target, "author": coder_id,
                          "title": title, "body": body, "created_at": created,
                          "updated_at": updated})

    # Notes that do not stop the merge.
    books = {b[1]: b[0] for b in store.codebook_names()}
    for n, book in enumerate(shape.items(data, "codebooks"), start=1):
        name = shape.get(book, "name", str, f"codebook {n}")
        revision = shape.get(book, "revision", int, f"codebook {n}", optional=True)
        if name not in books:
            report.warnings.append(f"codebook {name!r} is not in this project (codes are "
                                   "matched by id)")
        elif revision is not None and revision != store.codebook_revision(books[name]):
            report.warnings.append(f"codebook {name!r}: the bundle was made at revision "
                                   f"{revision}, this project is at revision "
                                   f"{store.codebook_revision(books[name])}")
    involved = {v.id for v in doc_cache.values() if v is not None}
    involved |= {c.id for c in current_cache.values() if c is not None}
    left = [r for r in store.coding_rows(coder_id=coder_id, document_ids=sorted(involved))
            if r.uid not in bundle_uids]
    if left:
        report.warnings.append(f"{len(left)} codings of {coder_id} in this project are not in "
                               "the bundle (kept; remove them by hand if the coder did)")
    existing = store.coder(coder_id)
    if existing is None:
        report.coder_created = True
    elif existing.name != coder_name:
        report.warnings.append(f"coder {coder_id} is called {existing.name!r} here and "
                               f"{coder_name!r} in the bundle (the name here is kept)")
    report.added = sum(1 for p in planned if p.existing_id is None)
    report.updated = len(planned) - report.added
    report.memos_added = len(memo_rows)
    if report.conflicts or dry_run or not report.changed:
        return report

    with store.transaction(), store.capture() as changes:
        if report.coder_created:
            store.add_coder(coder_id, coder_name)
        for p in planned:
            if p.existing_id is None:
                store.insert_coding_row(p.values)
            else:
                store.update_coding(p.existing_id, {k: v for k, v in p.values.items()
                                                    if k not in ("uid", "created_at")})
        for values in memo_rows:
            store.insert_memo_row(values)
        summary = (f"merge bundle of {coder_id}: {report.added} codings added, "
                   f"{report.updated} updated, {report.memos_added} memos")
        report.event_id = store.record_event(actor, "bundle.import", {
            "summary": summary, "coder": coder_id, "file": path.name, "sha256": sha,
            "source_project": report.source_project, "added": report.added,
            "updated": report.updated, "memos": report.memos_added,
            "reanchored": report.reanchored}, changes)
    return report


# -- blind coding ------------------------------------------------------------------------


def is_blind(store: Store) -> bool:
    """True if blind coding is on: coders see only their own codings until agreement."""
    return bool(store.get_setting(BLIND_SETTING, False))


def set_blind(store: Store, on: bool, actor: str | None = None) -> None:
    """Turn blind coding on or off for the project (recorded as an event)."""
    actor = actor or default_actor()
    with store.transaction():
        store.set_setting(BLIND_SETTING, bool(on))
        store.record_event(actor, BLIND_EVENT, {
            "on": bool(on), "summary": f"blind coding {'on' if on else 'off'}"})


def mark_agreement_computed(store: Store, coders: Sequence[str],
                            actor: str | None = None) -> int:
    """Record that agreement was computed for these coders (ends the blind phase)."""
    actor = actor or default_actor()
    with store.transaction():
        return store.record_event(actor, AGREEMENT_EVENT, {
            "coders": sorted(set(coders)),
            "summary": f"agreement computed for {', '.join(sorted(set(coders)))}"})


def visible_coders(store: Store, active_coder: str | None) -> list[str]:
    """The coder ids whose codings the active coder may see.

    Blind coding off: every coder. On: only the active coder (nobody without one),
    until agreement has been computed after blind coding was turned on; from then on
    every coder is visible again.
    """
    every = [c.id for c in store.coders()]
    if not is_blind(store):
        return every
    blind_since = store.last_event_id(BLIND_EVENT) or 0
    agreed = store.last_event_id(AGREEMENT_EVENT) or 0
    if agreed > blind_since:
        return every
    return [active_coder] if active_coder and active_coder in every else []
