"""customer_key: HMAC-SHA256 of the normalised e-mail, keyed with the pipeline's secret.

The key is computed inside DuckDB by a connection-scoped (TEMP) SQL macro, so a table of any
size is hashed at DuckDB speed. The macro is HMAC written out (RFC 2104): the secret's
inner and outer pads are derived here in Python, never persisted in the warehouse file.
The pure-Python `customer_key` is the reference the macro is tested against.
"""

from __future__ import annotations

import hashlib
import hmac

_BLOCK = 64  # SHA-256 block size in bytes


def normalise_email(email: str) -> str:
    return email.strip().lower()


def customer_key(email: str, secret: str) -> str:
    """Hex HMAC-SHA256 of the trimmed, lower-cased e-mail."""
    message = normalise_email(email).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def email_sha256(email: str) -> str:
    """Unkeyed hash, used only to match erasure requests without keeping the e-mail."""
    return hashlib.sha256(normalise_email(email).encode()).hexdigest()


def _pads(secret: str) -> tuple[str, str]:
    key = secret.encode()
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    inner = bytes(b ^ 0x36 for b in key).hex()
    outer = bytes(b ^ 0x5C for b in key).hex()
    return inner, outer


def macro_sql(secret: str) -> str:
    """SQL creating the TEMP macros `customer_key(email)` and `email_sha256(email)`.

    Both take the raw e-mail and normalise it (trim, lower-case) first; NULL stays NULL.
    """
    inner, outer = _pads(secret)
    normalised = "lower(trim(email))"
    return f"""
create or replace temp macro customer_key(email) as
    case when email is null then null else
    sha256(unhex('{outer}') || unhex(sha256(unhex('{inner}') || encode({normalised}))))
    end;
create or replace temp macro email_sha256(email) as
    case when email is null then null else sha256({normalised}) end;
"""


SUPPRESSION_KEY_TYPES = ("email", "contact_id", "order_id")


def suppression_hash(key_type: str, value: str) -> str:
    """key_hash of raw.suppression_list: hex SHA-256 of 'suppress:<key_type>:<value>'.

    `value` is the customer_key for key_type 'email' and the raw id otherwise. One-way and
    never equal to a customer_key or an id (see pipelines/lib/raw_schema.py)."""
    if key_type not in SUPPRESSION_KEY_TYPES:
        raise ValueError(f"unknown suppression key type {key_type!r}")
    return hashlib.sha256(f"suppress:{key_type}:{value}".encode()).hexdigest()


def suppression_hash_sql(key_type: str, value_sql: str) -> str:
    """The SQL twin of `suppression_hash` for a SQL expression giving the value."""
    if key_type not in SUPPRESSION_KEY_TYPES:
        raise ValueError(f"unknown suppression key type {key_type!r}")
    return f"sha256('suppress:{key_type}:' || ({value_sql}))"
