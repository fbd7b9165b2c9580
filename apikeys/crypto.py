"""Key material for environment API keys: generation, format checks, digests, comparison.

An access key is 20 characters of [A-Z0-9] starting with ``EK``. A secret key is 50 characters of
[A-Za-z0-9]: the prefix ``envk``, 40 random base62 characters (about 238 bits from ``secrets``)
and a 6-character base62 CRC32 checksum of the first 44. Both are safe in ``curl -u``, in a
``.netrc`` line and in a shell without quoting; the prefix lets secret scanners find leaked keys
and the checksum rejects garbage without a database lookup.

Only a digest of the secret is stored: ``sha256$<hex>``. The secret is random and long, so a fast
unkeyed digest is as strong as a slow hash here and costs about a microsecond per check; it also
does not depend on ``SECRET_KEY``, so rotating that never invalidates a key. The algorithm tag
lets a later version upgrade the digest.
"""

import hashlib
import hmac
import re
import secrets
import zlib

ACCESS_KEY_PREFIX = "EK"
ACCESS_KEY_LENGTH = 20
SECRET_KEY_PREFIX = "envk"
SECRET_RANDOM_LENGTH = 40
CHECKSUM_LENGTH = 6
SECRET_KEY_LENGTH = len(SECRET_KEY_PREFIX) + SECRET_RANDOM_LENGTH + CHECKSUM_LENGTH
DIGEST_ALGORITHM = "sha256"

_UPPER_DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ACCESS_KEY_RE = re.compile(rf"{ACCESS_KEY_PREFIX}[A-Z0-9]{{{ACCESS_KEY_LENGTH - len(ACCESS_KEY_PREFIX)}}}")
_SECRET_KEY_RE = re.compile(rf"{SECRET_KEY_PREFIX}[A-Za-z0-9]{{{SECRET_KEY_LENGTH - len(SECRET_KEY_PREFIX)}}}")

# Replaceable source of randomness, so tests can make keys they can predict.
_random = secrets.SystemRandom()


def _random_string(alphabet: str, length: int) -> str:
    return "".join(_random.choice(alphabet) for _ in range(length))


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, remainder = divmod(number, 62)
        digits.append(_BASE62[remainder])
    return "".join(reversed(digits))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode("ascii")), CHECKSUM_LENGTH)


def generate_access_key() -> str:
    """Return a new random access key."""
    return ACCESS_KEY_PREFIX + _random_string(_UPPER_DIGITS, ACCESS_KEY_LENGTH - len(ACCESS_KEY_PREFIX))


def generate_secret_key() -> str:
    """Return a new random secret key with its prefix and checksum."""
    body = SECRET_KEY_PREFIX + _random_string(_BASE62, SECRET_RANDOM_LENGTH)
    return body + _checksum(body)


def is_well_formed_access_key(value: str) -> bool:
    """Return whether ``value`` has the shape of an access key."""
    return _ACCESS_KEY_RE.fullmatch(value) is not None


def is_well_formed_secret_key(value: str) -> bool:
    """Return whether ``value`` has the shape of a secret key and a valid checksum."""
    if _SECRET_KEY_RE.fullmatch(value) is None:
        return False
    body, checksum = value[:-CHECKSUM_LENGTH], value[-CHECKSUM_LENGTH:]
    return hmac.compare_digest(_checksum(body), checksum)


def contains_secret_key(text: str) -> bool:
    """Return whether ``text`` holds anything shaped like a secret key (its checksum unchecked)."""
    return _SECRET_KEY_RE.search(text) is not None


def hash_secret(secret: str) -> str:
    """Return the stored, algorithm-tagged digest of ``secret``."""
    return f"{DIGEST_ALGORITHM}${hashlib.sha256(secret.encode('utf-8')).hexdigest()}"


def verify_secret(secret: str, stored: str) -> bool:
    """Return whether ``secret`` matches the ``stored`` digest, in constant time."""
    algorithm, _, _digest = stored.partition("$")
    if algorithm != DIGEST_ALGORITHM:
        return False
    return hmac.compare_digest(hash_secret(secret), stored)
