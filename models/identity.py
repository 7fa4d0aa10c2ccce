"""身份证号 at rest: AES-GCM ciphertext, a keyed HMAC blind index for exact lookup and
uniqueness, and a masked copy for lists (so lists never decrypt)."""
import hashlib
import hmac
import os

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


def id_blind_index(value: str) -> str:
    _, idx_key = _keys()
    return hmac.new(idx_key, normalize_id_number(value).encode(), hashlib.sha256).hexdigest()


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
