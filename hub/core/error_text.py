"""English exception texts from libraries (httpx, anyio, the mcp SDK, the OS), in French.

People read these on the dashboard (an MCP server's last error) and in the log. The
original text follows in brackets when it carries a detail worth keeping (a path, a URL).
"""

from __future__ import annotations

# Exception class name → French reason. Matched on the name so that this core module
# needs none of the libraries that raise them.
BY_CLASS = {
    "ConnectError": "connexion impossible : le serveur ne répond pas à cette adresse",
    "ConnectTimeout": "connexion impossible : délai de connexion dépassé",
    "ReadTimeout": "délai de lecture dépassé : le serveur ne répond plus",
    "WriteTimeout": "délai d'écriture dépassé",
    "PoolTimeout": "trop de connexions en attente",
    "TimeoutError": "délai dépassé",
    "RemoteProtocolError": "le serveur a fermé la connexion ou répondu hors protocole",
    "ReadError": "lecture interrompue : connexion coupée",
    "WriteError": "écriture interrompue : connexion coupée",
    "ConnectionRefusedError": "connexion refusée",
    "ConnectionResetError": "connexion réinitialisée par le serveur",
    "BrokenPipeError": "le processus ne lit plus son entrée (tube cassé)",
    "BrokenResourceError": "le processus ou la connexion s'est arrêté",
    "ClosedResourceError": "connexion déjà fermée",
    "EndOfStream": "le serveur a fermé la connexion",
    "FileNotFoundError": "commande ou fichier introuvable",
    "PermissionError": "permission refusée",
    "HTTPStatusError": "le serveur a répondu par une erreur HTTP",
}
# Texts that say the same thing whatever the class (the SDK's McpError, plain Exception).
BY_TEXT = {
    "All connection attempts failed": BY_CLASS["ConnectError"],
    "Connection closed": "le serveur a fermé la connexion",
    "Connection refused": BY_CLASS["ConnectionRefusedError"],
    "Session terminated": "session terminée par le serveur",
    "Server disconnected without sending a response.": "le serveur s'est déconnecté sans répondre",
}


def french_reason(exc: BaseException) -> str:
    """A French reason for ``exc``; the original text kept in brackets when it adds detail."""
    text = str(exc).strip()
    if text in BY_TEXT:
        return BY_TEXT[text]
    for known, translated in BY_TEXT.items():
        if text.startswith(known):
            return translated
    name = type(exc).__name__
    french = BY_CLASS.get(name)
    if french is None:
        return text or name
    if isinstance(exc, OSError) and exc.filename is not None:  # the path, not the OS's English
        return f"{french} : {exc.filename}"
    if not text or text in BY_TEXT:
        return french
    return f"{french} ({text})"
