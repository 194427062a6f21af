"""Why a JSON text was refused, in French, from what ``json`` / ``jsoncodec.loads`` raised.

Python's parser speaks English (« Expecting value: line 1 column 11 (char 10) »,
« maximum recursion depth exceeded… », « Exceeds the limit (4300 digits)… »); people
read these in 400 answers. Every entry point that parses a body uses this.
"""

from __future__ import annotations

import json
import sys

from hub.core.jsoncodec import MAX_DEPTH

# json.JSONDecodeError.msg (CPython's scanner, 3.11–3.13) → French
SYNTAX = {
    "Expecting value": "valeur attendue",
    "Expecting property name enclosed in double quotes": "nom de clé entre guillemets attendu",
    "Expecting ',' delimiter": "virgule attendue",
    "Expecting ':' delimiter": "deux-points attendu",
    "Unterminated string starting at": "chaîne non terminée",
    "Invalid control character at": "caractère de contrôle dans une chaîne",
    "Invalid \\escape": "séquence d'échappement invalide",
    "Invalid \\uXXXX escape": "échappement \\uXXXX invalide",
    "Extra data": "données en trop après la valeur JSON",
    "Illegal trailing comma before end of object": "virgule en trop avant la fin de l'objet",
    "Illegal trailing comma before end of array": "virgule en trop avant la fin de la liste",
    "Unexpected UTF-8 BOM (decode using utf-8-sig)": "marque d'ordre des octets (BOM) en tête",
}


def json_error_text(exc: ValueError | RecursionError) -> str:
    """« JSON invalide : … » with the reason and, for a syntax error, where it is."""
    if isinstance(exc, RecursionError):
        reason = f"plus de {MAX_DEPTH} niveaux de listes ou d'objets imbriqués"
    elif isinstance(exc, json.JSONDecodeError):
        where = f"ligne {exc.lineno}, colonne {exc.colno}"
        reason = f"{SYNTAX.get(exc.msg, 'syntaxe invalide')} ({where})"
    elif "integer string conversion" in str(exc):
        reason = f"entier de plus de {sys.get_int_max_str_digits()} chiffres"
    else:  # jsoncodec's own reasons (NaN, Infinity, overflow) are French already
        reason = str(exc)
    return f"JSON invalide : {reason}."
