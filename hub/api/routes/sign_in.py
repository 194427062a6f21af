"""The hub's side of signing in to upstream MCP servers (authorization code).

``GET /oauth/callback``: where the authorization server sends the person's browser back.
Open without the API key (a browser navigation carries none): the ``state`` of a pending
sign-in is the credential, single use, compared in constant time; anything else is
refused. ``GET /oauth/client-metadata.json``: the hub's Client ID Metadata Document, for
servers configured with ``client_metadata_url``.
"""

from __future__ import annotations

from html import escape
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from hub.api.state import hub_of
from hub.core.errors import NotFoundError
from hub.core.jsontypes import JSON, JSONObject
from hub.features.mcp_hub.oauth_client import CLIENT_NAME, GRANTS

PAGE = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Kimi Proxy Hub : connexion</title></head>
<body style="font-family: sans-serif; max-width: 40rem; margin: 4rem auto">
<h1>{title}</h1><p>{text}</p><p><a href="/">Retour au tableau de bord</a></p></body></html>
"""


def _page(status: int, title: str, text: str) -> HTMLResponse:
    body = PAGE.format(title=escape(title), text=escape(text))
    headers = {"cache-control": "no-store", "referrer-policy": "no-referrer"}
    return HTMLResponse(body, status_code=status, headers=headers)


async def callback(request: Request) -> HTMLResponse:
    query = request.query_params
    state, code = query.get("state"), query.get("code")
    error = query.get("error_description") or query.get("error")
    if not state or len(state) > 512 or not (code or error):
        return _page(400, "Réponse incomplète", "Paramètres state et code (ou error) attendus.")
    hub = hub_of(request)
    server = hub.upstreams.answer_sign_in(state, code, query.get("iss"), error)
    if server is None:
        text = "Aucune connexion en attente ne correspond (lien expiré ou déjà utilisé)."
        return _page(400, "Connexion inconnue", text + " Relancez-la depuis le tableau de bord.")
    if code is None:
        return _page(400, f"Connexion à « {server} » refusée", error or "")
    text = "Le hub termine la connexion ; vous pouvez fermer cet onglet."
    return _page(200, f"Connexion à « {server} » reçue", text)


async def client_metadata(request: Request) -> JSONResponse:
    hub = hub_of(request)
    path = request.url.path
    for connection in hub.upstreams.connections.values():
        oauth = connection.config.oauth
        url = oauth.client_metadata_url if oauth else None
        if oauth is None or url is None or urlsplit(url).path != path:
            continue
        uris: list[JSON] = [oauth.redirect_uri]
        grants: list[JSON] = list(GRANTS)
        document: JSONObject = {
            "client_id": url,
            "client_name": CLIENT_NAME,
            "redirect_uris": uris,
            "grant_types": grants,
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        }
        return JSONResponse(document, headers={"cache-control": "max-age=300"})
    raise NotFoundError("Aucun serveur MCP n'utilise ce document (client_metadata_url).")


routes = [
    Route("/oauth/callback", callback, methods=["GET"]),
    Route("/oauth/client-metadata.json", client_metadata, methods=["GET"]),
]
