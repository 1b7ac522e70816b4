"""Password hashes and the credentials file of basic-auth logins (hashes only, never a password).

The file is JSON, one user per key, the value a self-describing hash::

    {"ana": "scrypt$16384$8$1$<salt, base64>$<key, base64>"}

``scrypt`` (the default) and ``pbkdf2_sha256$<iterations>$<salt>$<key>`` are understood, both from
the standard library (:mod:`hashlib`). A value that is no such hash (a plaintext password, say) makes
the whole file invalid: :func:`load_credentials` names the file and the user.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
from pathlib import Path

from store.access import write_atomic

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1  # 16 MiB and some 50 ms per check
PBKDF2_ITERATIONS = 600_000
MIN_PASSWORD_LENGTH = 8
_MAX_SCRYPT_N = 2 ** 20


class CredentialsError(ValueError):
    """The credentials file is missing or malformed (the message names the file and the user)."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def hash_password(password: str, scheme: str = "scrypt") -> str:
    """A salted hash of ``password`` in the file's format."""
    if not isinstance(password, str) or not password:
        raise ValueError("the password is empty")
    salt = secrets.token_bytes(16)
    if scheme == "scrypt":
        key = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                             maxmem=256 * SCRYPT_N * SCRYPT_R, dklen=32)
        return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(key)}"
    if scheme == "pbkdf2_sha256":
        key = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, PBKDF2_ITERATIONS, dklen=32)
        return f"pbkdf2_sha256${PBKDF2_ITERATIONS}${_b64(salt)}${_b64(key)}"
    raise ValueError(f"unknown hash scheme {scheme!r} (scrypt or pbkdf2_sha256)")


def check_hash(encoded: str) -> str | None:
    """Why ``encoded`` is not a hash this module can verify (None when it is one)."""
    if not isinstance(encoded, str):
        return f"expected a password hash (text), got {type(encoded).__name__}"
    parts = encoded.split("$")
    try:
        if parts[0] == "scrypt" and len(parts) == 6:
            n, r, p = (int(x) for x in parts[1:4])
            if n < 2 or n & (n - 1) or n > _MAX_SCRYPT_N or not (1 <= r <= 64) or not (1 <= p <= 16):
                return "scrypt parameters out of range"
            if len(_unb64(parts[4])) < 8 or len(_unb64(parts[5])) < 16:
                return "scrypt salt or key too short"
            return None
        if parts[0] == "pbkdf2_sha256" and len(parts) == 4:
            if not (1_000 <= int(parts[1]) <= 10_000_000):
                return "pbkdf2 iterations out of range"
            if len(_unb64(parts[2])) < 8 or len(_unb64(parts[3])) < 16:
                return "pbkdf2 salt or key too short"
            return None
    except ValueError:
        return "malformed hash (bad number or base64)"
    return ("not a password hash (plaintext passwords are refused): "
            "set the password with `artemis users add NAME --replace`")


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches the hash ``encoded`` (constant-time comparison)."""
    if check_hash(encoded) is not None or not isinstance(password, str):
        return False
    parts = encoded.split("$")
    pw = password.encode("utf-8")
    if parts[0] == "scrypt":
        n, r, p = (int(x) for x in parts[1:4])
        salt, want = _unb64(parts[4]), _unb64(parts[5])
        got = hashlib.scrypt(pw, salt=salt, n=n, r=r, p=p, maxmem=256 * n * r + 1024 * 1024, dklen=len(want))
    else:
        salt, want = _unb64(parts[2]), _unb64(parts[3])
        got = hashlib.pbkdf2_hmac("sha256", pw, salt, int(parts[1]), dklen=len(want))
    return hmac.compare_digest(got, want)


# ---------------------------------------------------------------------------------------------- the file
def parse_credentials(data, source: str) -> dict[str, str]:
    if not isinstance(data, dict):
        raise CredentialsError(f"{source}: expected a JSON object mapping user names to password hashes")
    for user, encoded in data.items():
        if not user.strip():
            raise CredentialsError(f"{source}: an entry has an empty user name")
        why = check_hash(encoded)
        if why:
            raise CredentialsError(f"{source}: user {user!r}: {why}")
    return dict(data)


def load_credentials(path: str | Path) -> dict[str, str]:
    """The users and their hashes, validated."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CredentialsError(f"{path}: credentials file not found (create it with `artemis users add`)") from None
    except OSError as e:
        raise CredentialsError(f"{path}: cannot read the credentials file ({e.strerror})") from None
    try:
        data = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as e:
        raise CredentialsError(f"{path}: not valid JSON: {e}") from None
    return parse_credentials(data, str(path))


def save_credentials(users: dict[str, str], path: str | Path) -> None:
    """Write the users and their hashes: atomically, readable by the owner only (0600)."""
    parse_credentials(users, str(path))  # never write a plaintext or broken entry
    write_atomic(path, json.dumps(dict(sorted(users.items())), indent=2) + "\n", mode=0o600)


class CredentialStore:
    """Checks logins against a credentials file, re-read when the file changes (users added with
    ``artemis users add`` can log in without a restart)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._users: dict[str, str] = {}
        self._dummy = hash_password(secrets.token_urlsafe(16))

    def users(self) -> dict[str, str]:
        st = os.stat(self.path)
        stamp = (st.st_ino, st.st_mtime_ns)
        with self._lock:
            if stamp != self._stamp:
                self._users = load_credentials(self.path)
                self._stamp = stamp
            return self._users

    def verify(self, user: str, password: str) -> bool:
        """Whether ``user`` exists and ``password`` is theirs. An unknown user costs the same hash as a
        known one (no timing hint of who exists)."""
        encoded = self.users().get(user)
        ok = verify_password(password, encoded or self._dummy)
        return ok and encoded is not None
