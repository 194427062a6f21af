"""Validation of a ``POST /chat/completions`` body, with a precise French message per field.

Only what every OpenAI-compatible provider would refuse anyway is checked, before any
upstream call; fields the hub does not know pass through untouched (providers add their
own). Each error names the field (``param``) and says what was expected and what came.
"""

from __future__ import annotations

from hub.core.errors import HubError
from hub.core.jsontypes import JSON, JSONObject

ROLES = ("system", "developer", "user", "assistant", "tool", "function")
# Roles whose message must carry content (an assistant may answer with tool_calls only).
CONTENT_REQUIRED = ("system", "developer", "user", "tool")
# name → (minimum, maximum, integer only)
NUMBERS: dict[str, tuple[float, float | None, bool]] = {
    "temperature": (0.0, 2.0, False),
    "top_p": (0.0, 1.0, False),
    "n": (1, 128, True),
    "max_tokens": (1, 2**31 - 1, True),  # no provider takes more; budgets multiply it
    "max_completion_tokens": (1, 2**31 - 1, True),
    "presence_penalty": (-2.0, 2.0, False),
    "frequency_penalty": (-2.0, 2.0, False),
}
MAX_MODEL_CHARS = 256  # model names become row columns and error texts


def kind_of(value: JSON) -> str:
    """What a JSON value is, in French, for « reçu : … »."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "un booléen"
    if isinstance(value, int | float):
        return "un nombre"
    if isinstance(value, str):
        return "une chaîne"
    if isinstance(value, list):
        return "une liste"
    return "un objet"


def _fail(param: str, message: str, code: str = "invalid_type") -> HubError:
    return HubError(message, param=param, code=code)


def _wrong_type(param: str, expected: str, value: JSON) -> HubError:
    return _fail(param, f"« {param} » doit être {expected} (reçu : {kind_of(value)}).")


def _required(payload: JSONObject, name: str, expected: str, code: str) -> JSON:
    value = payload.get(name)
    if value is None:
        raise _fail(name, f"Champ « {name} » manquant : {expected} est attendu(e).", code)
    return value


def _check_model(payload: JSONObject) -> None:
    model = _required(payload, "model", "le nom d'un modèle", "missing_model")
    if not isinstance(model, str):
        raise _wrong_type("model", "une chaîne (nom du modèle, voir GET /models)", model)
    if not model.strip():
        raise _fail("model", "« model » ne doit pas être vide.", "missing_model")
    if len(model) > MAX_MODEL_CHARS:
        raise _fail("model", f"« model » dépasse {MAX_MODEL_CHARS} caractères.", "invalid_model")
    if not model.isprintable():  # CR/LF, NUL, invisible characters: never sent on, nor logged
        odd = next(c for c in model if not c.isprintable())
        raise _fail(
            "model",
            f"« model » contient un caractère de contrôle ou invisible (U+{ord(odd):04X}).",
            "invalid_model",
        )


def _check_messages_list(payload: JSONObject) -> list[JSON]:
    messages = _required(payload, "messages", "une liste non vide", "missing_messages")
    if not isinstance(messages, list):
        raise _wrong_type("messages", "une liste d'objets {role, content}", messages)
    if not messages:
        raise _fail("messages", "« messages » ne doit pas être une liste vide.", "missing_messages")
    return messages


def _check_number(name: str, value: JSON) -> None:
    low, high, integer = NUMBERS[name]
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _wrong_type(name, "un entier" if integer else "un nombre", value)
    if integer and not isinstance(value, int):
        raise _wrong_type(name, "un entier", value)
    if value < low or (high is not None and value > high):
        bounds = (
            f"entre {_shown(low)} et {_shown(high)}"
            if high is not None
            else f"au moins {_shown(low)}"
        )
        raise _fail(
            name, f"« {name} » doit être {bounds} (reçu : {_shown(value)}).", "invalid_value"
        )


def _shown(value: int | float) -> str:
    """A number as received; an integer too long for a float (or a message) abridged."""
    if isinstance(value, int):
        digits = len(str(abs(value)))
        return str(value) if digits <= 20 else f"un entier de {digits} chiffres"
    return f"{value:g}"


SHAPES: tuple[tuple[str, type, str], ...] = (
    ("stream", bool, "un booléen"),
    ("tools", list, "une liste"),
    ("stream_options", dict, "un objet"),
)


def _check_scalars(payload: JSONObject) -> None:
    for name in NUMBERS:
        if name in payload:
            _check_number(name, payload[name])
    for name, kind, label in SHAPES:
        value = payload.get(name)
        if value is not None and not isinstance(value, kind):
            raise _wrong_type(name, label, value)
    stop = payload.get("stop")
    if stop is not None and not isinstance(stop, str):
        if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
            raise _wrong_type("stop", "une chaîne ou une liste de chaînes", stop)


def _check_content(param: str, content: JSON) -> None:
    if content is None or isinstance(content, str):
        return
    if not isinstance(content, list):
        raise _wrong_type(param, "une chaîne ou une liste de parties {type, …}", content)
    for index, part in enumerate(content):
        where = f"{param}[{index}]"
        if not isinstance(part, dict):
            raise _wrong_type(where, "un objet {type, …}", part)
        if not isinstance(part.get("type"), str):
            raise _fail(where, f"« {where}.type » manquant : « text », « image_url »… attendu.")


def _check_message(index: int, message: JSON) -> None:
    param = f"messages[{index}]"
    if not isinstance(message, dict):
        raise _fail(
            param,
            f"« {param} » doit être un objet {{role, content}} (reçu : {kind_of(message)}).",
            "invalid_message",
        )
    role = message.get("role")
    if role is None:
        raise _fail(
            f"{param}.role",
            f"« {param}.role » manquant : {', '.join(ROLES)} attendu.",
            "invalid_message",
        )
    if not isinstance(role, str):
        raise _wrong_type(f"{param}.role", "une chaîne", role)
    if role not in ROLES:
        raise _fail(
            f"{param}.role",
            f"« {param}.role » vaut « {role[:40]} » : valeurs acceptées : {', '.join(ROLES)}.",
            "invalid_value",
        )
    if role in CONTENT_REQUIRED and message.get("content") is None:
        raise _fail(
            f"{param}.content",
            f"« {param}.content » manquant (rôle « {role} »).",
            "invalid_message",
        )
    _check_content(f"{param}.content", message.get("content"))


def validate_chat(payload: JSONObject) -> None:
    """Raise a 400 ``HubError`` naming the first field no provider would accept."""
    _check_model(payload)
    messages = _check_messages_list(payload)
    _check_scalars(payload)
    for index, message in enumerate(messages):
        _check_message(index, message)
