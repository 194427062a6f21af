"""``kimi-proxy keys create|list|revoke``: the same operations as /api/keys, on the database.

Works whether the hub runs or not (a running hub sees new keys within seconds).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio

from hub.config import HubConfig
from hub.core.errors import HubError
from hub.core.storage.keys import PERIODS, TOOLS_DEFAULTS, KeyLimits, KeyRecord, KeyStore
from hub.core.storage.store import Store
from hub.services.access.keys import KeyService

DAY = 86_400.0


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    load: Callable[[str | None], HubConfig],
) -> None:
    keys = commands.add_parser("keys", help="clés virtuelles : créer, lister, révoquer")
    actions = keys.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="créer une clé (secret affiché une fois)")
    create.add_argument("name")
    create.add_argument("--budget", type=float, help="budget par période (devise des prix)")
    create.add_argument("--period", choices=PERIODS, default="total")
    create.add_argument("--rpm", type=int, help="requêtes par minute")
    create.add_argument("--tpm", type=int, help="tokens par minute")
    create.add_argument("--model", action="append", default=[], help="motif de modèle autorisé")
    create.add_argument("--tool", action="append", default=[], help="motif d'outil MCP autorisé")
    create.add_argument(
        "--tools-default",
        choices=TOOLS_DEFAULTS,
        default="allow",
        help="sans motif --tool : tous les outils (allow) ou aucun (deny)",
    )
    create.add_argument("--expires-days", type=float, help="expire dans N jours")
    listing = actions.add_parser("list", help="lister les clés (sans secret)")
    revoke = actions.add_parser("revoke", help="révoquer une clé")
    revoke.add_argument("key_id")
    for parser in (create, listing, revoke):
        parser.add_argument("--config")
    keys.set_defaults(run=lambda args: _run(args, load(args.config)))


def _run(args: argparse.Namespace, config: HubConfig) -> None:
    async def action(service: KeyService) -> None:
        if args.action == "create":
            limits = KeyLimits(
                budget=args.budget,
                period=args.period,
                rpm=args.rpm,
                tpm=args.tpm,
                models=tuple(args.model),
                tools=tuple(args.tool),
                tools_default="deny" if args.tools_default == "deny" else "allow",
                expires_at=time.time() + args.expires_days * DAY if args.expires_days else None,
            )
            issued = await service.create(args.name, limits)
            print(f"Clé « {issued.key.name} » créée (id {issued.key.id}).")
            print("Secret (affiché une seule fois, à conserver) :")
            print(issued.secret)
        elif args.action == "list":
            for key in await service.all():
                print(_line(key))
        else:
            key = await service.revoke(args.key_id)
            print(f"Clé « {key.name} » ({key.id}) révoquée.")

    try:
        anyio.run(_with_service, config, action)
    except HubError as exc:
        print(f"Erreur : {exc.message}", file=sys.stderr)
        raise SystemExit(1) from None


async def _with_service(config: HubConfig, action: Callable[[KeyService], Awaitable[None]]) -> None:
    target: Path | str = config.database.url or config.database_path
    async with await Store.open(target) as store:
        await action(KeyService(KeyStore(store)))


def _line(key: KeyRecord) -> str:
    state = "révoquée" if key.revoked_at else "active"
    limits = json.dumps(key.limits.to_json(), ensure_ascii=False)
    return f"{key.id}  {key.name}  {state}  {limits}"
