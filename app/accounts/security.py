"""Passwords, tokens and secrets.

* passwords: argon2id via pwdlib (maintained; the FastAPI full-stack template uses it);
* access tokens: short-lived JWTs (HS256, ``SECRET_KEY``) carrying the user's role,
  municipalities and organisations, so a request needs no database look-up to authenticate;
* refresh tokens, API keys, invitation and reset tokens: 32 random bytes, shown once, stored
  as SHA-256 (high-entropy secrets need no slow hash; a database leak reveals none of them).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from app.core.models import utcnow

ACCESS_TOKEN_TTL = timedelta(minutes=15)
REFRESH_TOKEN_TTL = timedelta(days=14)
ALGORITHM = "HS256"
API_KEY_PREFIX = "sk_"
MIN_PASSWORD_LENGTH = 12

_hasher = PasswordHash((Argon2Hasher(),))
# A hash to verify against when the account does not exist: the same work either way, so the
# answer time does not tell whether an e-mail address has an account.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, hashed: str | None) -> bool:
    if hashed is None:
        _hasher.verify(password, _DUMMY_HASH)
        return False
    try:
        return bool(_hasher.verify(password, hashed))
    except Exception:  # a malformed stored hash is a failed login, not a 500
        return False


def new_secret(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def email_digest(email: str) -> str:
    return digest("email:" + email.strip().lower())


def create_access_token(
    *,
    secret_key: str,
    user_id: uuid.UUID,
    role: str,
    municipality_ids: list[uuid.UUID],
    organization_ids: list[uuid.UUID],
    now: datetime | None = None,
) -> tuple[str, datetime]:
    issued = now or utcnow()
    expires = issued + ACCESS_TOKEN_TTL
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "role": role,
        "mun": [str(m) for m in municipality_ids],
        "org": [str(o) for o in organization_ids],
        "iat": int(issued.timestamp()),
        "exp": int(expires.timestamp()),
        "typ": "access",
    }
    return jwt.encode(claims, secret_key, algorithm=ALGORITHM), expires


def decode_access_token(token: str, *, secret_key: str) -> dict[str, Any]:
    """The claims; raises ``jwt.InvalidTokenError`` for anything invalid or expired."""
    claims: dict[str, Any] = jwt.decode(
        token, secret_key, algorithms=[ALGORITHM], options={"require": ["sub", "exp", "role"]}
    )
    if claims.get("typ") != "access":
        raise jwt.InvalidTokenError("not an access token")
    return claims
