"""身份证号 at rest: AES-GCM ciphertext, a keyed HMAC blind index for exact lookup and
uniqueness, and a masked copy for lists (so lists never decrypt)."""
import hashlib
import hmac
import os
from functools import lru_cache

import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app
from sqlalchemy.orm import Mapped, mapped_column


def _keys():
    key = current_app.config["DATA_KEY"]  # 32 bytes
    return key, hmac.new(key, b"blind-index", hashlib.sha256).digest()


def normalize_id_number(value: str) -> str:
    return (value or "").strip().upper()


def encrypt_id_number(value: str) -> bytes:
    enc_key, _ = _keys()
    nonce = os.urandom(12)
    return nonce + AESGCM(enc_key).encrypt(nonce, normalize_id_number(value).encode(), b"id_number")


def decrypt_id_number(blob: bytes) -> str:
    enc_key, _ = _keys()
    return AESGCM(enc_key).decrypt(blob[:12], blob[12:], b"id_number").decode()


@lru_cache(maxsize=8192)
def _county_spans(area: str) -> tuple:
    """The years GB/T 2260 (python-stdnum's table, in its own format: "[1983-1996]name" or a
    bare name for always) had `area` as a county code: (first, last) spans, None for open;
    () if never. Read once per area: stdnum's lookup costs ~0.1 ms, and a province's file
    has thousands of (area, birth year) pairs."""
    from stdnum import numdb
    info = {}
    for _part, props in numdb.get("cn/loc").info(area):
        info.update(props)
    if "county" not in info:  # stdnum's get_birth_place raises KeyError here, not invalid
        return ()
    spans = []
    for county in info["county"].split(","):
        if not county.startswith("["):
            return ((None, None),)
        first, last = county[1:].split("]")[0].split("-")
        spans.append((int(first) if first else None, int(last) if last else None))
    return tuple(spans)


def id_area_known(area: str, birth_year: int) -> bool:
    """Whether a 身份证号's area code was a county code in its holder's birth year (the check
    stdnum.cn.ric makes, answering False where stdnum raises KeyError)."""
    return any((first is None or birth_year >= first) and (last is None or birth_year <= last)
               for first, last in _county_spans(area))


BLIND_HMAC_HEX = 32  # the HMAC's first 128 bits: no two of billions of numbers collide


def blind_index_of(idx_key: bytes, normalized: str) -> str:
    """The blind index of a normalised 身份证号: its area code (the six digits its masked copy
    shows anyway), then the keyed HMAC. With the area first, one province's persons sit
    together in the index, so an import of a province's file inserts into that part of it
    instead of one random page of the whole index per row (measured at national scale)."""
    area = normalized[:6] if len(normalized) >= 10 else ""  # as mask_id_number shows it
    return area + hmac.digest(idx_key, normalized.encode(), "sha256").hex()[:BLIND_HMAC_HEX]


def id_blind_index(value: str) -> str:
    _, idx_key = _keys()
    return blind_index_of(idx_key, normalize_id_number(value))


# the tables that store a blind index (IdentityNumberMixin)
BLIND_INDEX_TABLES = ("person", "physician_account", "direct_business")


def area_first_blind_indexes(conn) -> None:
    """Rewrite blind indexes stored as the bare 64-character HMAC into blind_index_of's form,
    from the columns themselves (no key needed): the masked copy's first six characters,
    then the HMAC's first BLIND_HMAC_HEX. The bench harness converts a data set built before
    the change with it; migration 5e2b7c9d1a30 does the same in its own statement."""
    for name in BLIND_INDEX_TABLES:
        t = sa.table(name, sa.column("id_number_hash", sa.String),
                     sa.column("id_number_masked", sa.String))
        area = sa.case((sa.func.length(t.c.id_number_masked) >= 10,
                        sa.func.substr(t.c.id_number_masked, 1, 6)), else_="")
        conn.execute(sa.update(t).where(sa.func.length(t.c.id_number_hash) == 64).values(
            id_number_hash=area + sa.func.substr(t.c.id_number_hash, 1, BLIND_HMAC_HEX)))


def mask_id_number(value: str) -> str:
    """110101********1234 — the one masking rule for every list and export."""
    v = normalize_id_number(value)
    if len(v) < 10:
        return "*" * len(v)
    return v[:6] + "*" * (len(v) - 10) + v[-4:]


def mask_phone(value: str) -> str:
    """151****0658"""
    v = (value or "").strip()
    if len(v) < 7:
        return "*" * len(v)
    return v[:3] + "*" * (len(v) - 7) + v[-4:]


def mask_email(value: str) -> str:
    v = (value or "").strip()
    if "@" not in v:
        return mask_phone(v)
    local, domain = v.split("@", 1)
    return (local[:2] if len(local) > 2 else local[:1]) + "...@" + domain


def mask_text(value: str) -> str:
    """ch...563 — the deck's summary-page style for user names and passwords."""
    v = value or ""
    if len(v) <= 4:
        return v[:1] + "..."
    return v[:2] + "..." + v[-3:]


class IdentityNumberMixin:
    """Adds id_number_enc / id_number_hash / id_number_masked and an `id_number` property."""

    id_number_enc: Mapped[bytes] = mapped_column(sa.LargeBinary, nullable=False)
    id_number_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False, index=True)
    id_number_masked: Mapped[str] = mapped_column(sa.String(18), nullable=False)

    @property
    def id_number(self) -> str:
        """Full value: only for detail pages the viewer may see (audit the view)."""
        return decrypt_id_number(self.id_number_enc)

    @id_number.setter
    def id_number(self, value: str):
        self.id_number_enc = encrypt_id_number(value)
        self.id_number_hash = id_blind_index(value)
        self.id_number_masked = mask_id_number(value)
