"""Upstream OAuth tokens kept across restarts, sealed with a key the operator gives.

``KIMI_PROXY_TOKEN_KEY`` (a passphrase; 32 characters or more advised) derives a Fernet
key with HKDF-SHA256: AES-128-CBC and HMAC-SHA256, so a row read without the key tells
nothing, and a row altered or sealed under another key is refused (the person signs in
again). Without the variable, tokens live in memory only: a restart asks for a new
sign-in. In team mode every replica that has the same key reads what another one stored.
"""

from __future__ import annotations

import base64
import logging

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from pydantic import ValidationError

from hub.core.jsoncodec import dumps, loads
from hub.core.jsontypes import JSONObject, as_object
from hub.core.storage.oauth_tokens import SealedTokens
from hub.features.mcp_hub.oauth_client import MemoryTokens

logger = logging.getLogger("hub.mcp")
KEY_VARIABLE = "KIMI_PROXY_TOKEN_KEY"
_CONTEXT = b"kimi-proxy-hub upstream oauth tokens v1"


def _fernet(passphrase: str) -> Fernet:
    derive = HKDF(algorithm=hashes.SHA256(), length=32, salt=_CONTEXT, info=b"fernet")
    return Fernet(base64.urlsafe_b64encode(derive.derive(passphrase.encode())))


class TokenVault:
    def __init__(self, rows: SealedTokens, passphrase: str) -> None:
        self._rows = rows
        self._fernet = _fernet(passphrase)

    async def keep(self, server: str, tokens: MemoryTokens) -> None:
        """Seal what ``tokens`` holds now (after each token or registration change)."""
        client = tokens.client
        document: JSONObject = {
            "tokens": tokens.tokens.model_dump_json() if tokens.tokens else None,
            "client": client.model_dump_json(exclude_none=True) if client else None,
            "obtained_at": tokens.obtained_at,
        }
        sealed = self._fernet.encrypt(dumps(document)).decode()
        await self._rows.save(server, client.issuer if client else None, sealed)

    async def restore(self, server: str, tokens: MemoryTokens, issuer: str | None) -> bool:
        """Fill ``tokens`` from the stored row; False if there is none or it is unusable."""
        stored = await self._rows.load(server)
        if stored is None:
            return False
        stored_issuer, sealed = stored
        if issuer is not None and stored_issuer not in (None, issuer):
            return False  # signed in at another authorization server than the one pinned
        try:
            document = as_object(loads(self._fernet.decrypt(sealed.encode()))) or {}
            saved, client = document.get("tokens"), document.get("client")
            tokens.tokens = (
                OAuthToken.model_validate_json(saved) if isinstance(saved, str) else None
            )
            tokens.client = (
                OAuthClientInformationFull.model_validate_json(client)
                if isinstance(client, str)
                else None
            )
        except (InvalidToken, ValueError, ValidationError):
            logger.warning(
                "serveur MCP %s : jetons OAuth enregistrés illisibles avec la clé %s actuelle ; "
                "nouvelle connexion nécessaire",
                server,
                KEY_VARIABLE,
            )
            return False
        obtained = document.get("obtained_at")
        tokens.obtained_at = float(obtained) if isinstance(obtained, int | float) else None
        return tokens.tokens is not None
