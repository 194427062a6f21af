"""Virtual keys: issue a secret once, keep a salted hash, recognise it on each request.

A secret reads ``sk-kp-<id>-<random>``: the id finds the row without scanning, the
random part (256 bits) is what the hash protects. SHA-256 with a per-key salt rather
than scrypt: the secret is random, not a password, so nothing is gained by a slow hash,
and each request would pay it. Comparison is ``hmac.compare_digest``.

Keys are read from memory on the request path; the table is reloaded every
``RELOAD_SECONDS`` so that a key revoked elsewhere (another replica, ``kimi-proxy keys
revoke``) stops working here too. Revoking a key ends its open streams and WebSockets
(``LiveConnections``): at once on this replica, through the cluster link on the others,
at the next reload otherwise.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from fnmatch import fnmatchcase

from hub.core.errors import HubError, NotFoundError
from hub.core.jsontypes import JSON, as_object, as_str
from hub.core.storage.keys import KeyLimits, KeyRecord, KeyStore
from hub.services.access.live import LiveConnections

SECRET_PREFIX = "sk-kp-"
RELOAD_SECONDS = 1.0
REVOKED_KIND = "key_revoked"  # cluster link messages: {"id": key id}
MAX_NAME_LENGTH = 100

logger = logging.getLogger(__name__)


def hash_secret(salt: str, secret: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + secret.encode()).hexdigest()


def split_secret(token: str) -> tuple[str, str] | None:
    """(key id, random part) of a well-formed secret, else None."""
    if not token.startswith(SECRET_PREFIX):
        return None
    key_id, sep, rest = token[len(SECRET_PREFIX) :].partition("-")
    if not sep or len(key_id) != 12 or not rest or len(rest) > 100:
        return None
    return key_id, rest


def matches(name: str, patterns: tuple[str, ...]) -> bool:
    """An empty list allows everything; patterns are shell-style (``fake/*``)."""
    return not patterns or any(fnmatchcase(name, pattern) for pattern in patterns)


class KeyRefused(HubError):
    """The secret is right but the key may no longer be used (revoked, expired)."""

    def __init__(self, message: str) -> None:
        super().__init__(
            message, status=401, error_type="authentication_error", code="invalid_api_key"
        )


@dataclass(frozen=True)
class IssuedKey:
    key: KeyRecord
    secret: str


def _usable(key: KeyRecord, now: float) -> bool:
    expires = key.limits.expires_at
    return key.revoked_at is None and (expires is None or expires > now)


class KeyService:
    def __init__(
        self, store: KeyStore, announce: Callable[[JSON], Awaitable[None]] | None = None
    ) -> None:
        """``announce``: tells the other replicas (cluster link) that a key was revoked."""
        self._store = store
        self._keys: dict[str, KeyRecord] = {}
        self._announce = announce
        self.live = LiveConnections()

    async def load(self) -> None:
        """Reload every key; end what keys revoked or expired since still hold open."""
        keys = {key.id: key for key in await self._store.list()}
        self._keys = keys
        now = time.time()
        for key in keys.values():
            if not _usable(key, now):
                self.live.end(key.id)

    async def revoked_elsewhere(self, data: JSON) -> None:
        """Another replica revoked a key: forget it and end its connections here too."""
        key_id = as_str((as_object(data) or {}).get("id"))
        key = await self._store.get(key_id) if key_id else None
        if key is not None and key.revoked_at is not None:
            self._keys[key.id] = key
            self.live.end(key.id)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        await self.load()

        async def reload() -> None:
            while True:
                await asyncio.sleep(RELOAD_SECONDS)
                try:
                    await self.load()
                except Exception:  # the database is away: keep the last known keys
                    logger.warning("rechargement des clés impossible", exc_info=True)

        task = asyncio.create_task(reload())
        try:
            yield
        finally:
            task.cancel()

    async def authenticate(self, token: str) -> KeyRecord | None:
        """The key behind a bearer token; None when unknown or wrong (the caller says 401)."""
        parts = split_secret(token)
        if parts is None:
            return None
        key_id, random_part = parts
        key = self._keys.get(key_id)
        if key is None:  # created on another replica a moment ago
            key = await self._store.get(key_id)
            if key is None:
                return None
            self._keys[key.id] = key
        if not hmac.compare_digest(hash_secret(key.salt, random_part), key.secret_hash):
            return None
        if key.revoked_at is not None:
            raise KeyRefused("Clé API révoquée.")
        expires = key.limits.expires_at
        if expires is not None and expires <= time.time():
            raise KeyRefused("Clé API expirée.")
        return key

    async def create(self, name: str, limits: KeyLimits) -> IssuedKey:
        clean = name.strip()[:MAX_NAME_LENGTH]
        if not clean:
            raise HubError("Le nom de la clé ne peut pas être vide.", param="name")
        key_id, salt = secrets.token_hex(6), secrets.token_hex(16)
        random_part = secrets.token_urlsafe(32)
        key = KeyRecord(
            id=key_id,
            name=clean,
            salt=salt,
            secret_hash=hash_secret(salt, random_part),
            created_at=time.time(),
            limits=limits,
        )
        await self._store.insert(key)
        self._keys[key.id] = key
        return IssuedKey(key, f"{SECRET_PREFIX}{key_id}-{random_part}")

    async def get(self, key_id: str) -> KeyRecord:
        key = await self._store.get(key_id)
        if key is None:
            raise NotFoundError(f"Clé « {key_id[:20]} » introuvable.", code="key_not_found")
        return key

    async def all(self) -> list[KeyRecord]:
        return await self._store.list()

    def knows(self, key_id: str) -> bool:
        return key_id in self._keys

    def known(self) -> list[KeyRecord]:
        """The keys in memory (metrics read this on each scrape)."""
        return list(self._keys.values())

    async def update(self, key_id: str, name: str, limits: KeyLimits) -> KeyRecord:
        clean = name.strip()[:MAX_NAME_LENGTH]
        if not clean:
            raise HubError("Le nom de la clé ne peut pas être vide.", param="name")
        if not await self._store.update(key_id, clean, limits):
            raise NotFoundError(f"Clé « {key_id[:20]} » introuvable.", code="key_not_found")
        key = await self.get(key_id)
        self._keys[key.id] = key
        return key

    async def revoke(self, key_id: str) -> KeyRecord:
        key = await self.get(key_id)
        if key.revoked_at is None:
            await self._store.revoke(key_id, time.time())
            key = await self.get(key_id)
        self._keys[key.id] = key
        self.live.end(key.id)
        if self._announce is not None:
            await self._announce({"id": key.id})
        return key
