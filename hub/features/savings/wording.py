"""The words the hub writes into a model's prompt: summary, notes, placeholders.

Models work best in the language of the conversation, and agent conversations are in
English: the hub's own text in the prompt is English by default, French on request
(``[savings] prompt_language = "fr"``). What people read (dashboard, errors, logs,
savings events) stays French whatever this says.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Wording:
    language: str
    summary_marker: str
    steps: str  # "{first}", "{last}": rounds covered by one segment of the summary
    acknowledgement: str
    continue_note: str
    masked: str  # "{kind}", "{tokens}", "{lines}": first line of a placeholder
    start: str
    end: str
    failing_tests: str
    salient: str
    outline: str
    files: str
    names: str
    line: str  # "class Parser (line 10)"
    reference: str  # "{digest}": where the original is, and how to page through it
    repeated: str  # "{tokens}", "{lines}": first line of an output a later one repeats
    nothing_else: str
    user: str
    user_verbatim: str
    assistant: str
    call: str
    failing: str
    lines_count: str  # "{count}": lines of an observation in the digest
    middle_omitted: str
    summariser_prompt: str
    kinds: tuple[tuple[str, str], ...] = ()  # people-facing kind (events) -> prompt label

    def kind(self, kind: str) -> str:
        return next((label for name, label in self.kinds if name == kind), kind)


ENGLISH = Wording(
    language="en",
    summary_marker="[Summary of the earlier conversation, written by Kimi Proxy Hub]",
    steps="### Steps {first} to {last}",
    acknowledgement="Understood: I continue from this summary.",
    continue_note="Continue the task from this summary.",
    masked="[Content masked by Kimi Proxy Hub: {kind}, {tokens} tokens, {lines} lines]",
    start="Start:",
    end="End:",
    failing_tests="Failing tests: ",
    salient="Salient lines:",
    outline="Code outline: ",
    files="Files: ",
    names="Names: ",
    line="line",
    reference=(
        "Reference: mask:{digest} (the full original: tool mask_get with hash "
        '"mask:{digest}" and optional lines "FIRST-LAST" or offset and length; '
        "or GET /api/mask/{digest}?lines=FIRST-LAST)"
    ),
    repeated=(
        "[Output shown again by a later tool output, shrunk by Kimi Proxy Hub: {tokens} "
        "tokens, {lines} lines. The lines found only here:]"
    ),
    nothing_else="(none)",
    user="user",
    user_verbatim='user, verbatim between the lines """:',
    assistant="assistant",
    call="call",
    failing="failing",
    lines_count="{count} lines",
    middle_omitted="[… middle omitted …]",
    summariser_prompt=(
        "You summarise the beginning of a coding agent's session so that it can go on "
        "without the full history. Keep exactly: every request of the user, the decisions "
        "taken, error messages, file paths, line numbers, identifiers (functions, classes, "
        "variables, attributes) and the « mask:… » references. Be factual and concise, "
        "in bullet points."
    ),
    kinds=(
        ("trace d'erreur", "error trace"),
        ("résultat d'outil", "tool output"),
        ("résultat d'outil MCP", "MCP tool output"),
        ("journal ou fichier", "log or file"),
    ),
)

FRENCH = Wording(
    language="fr",
    summary_marker="[Résumé de la conversation antérieure, rédigé par Kimi Proxy Hub]",
    steps="### Étapes {first} à {last}",
    acknowledgement="Compris : je poursuis à partir de ce résumé.",
    continue_note="Poursuis la tâche à partir de ce résumé.",
    masked="[Contenu masqué par Kimi Proxy Hub : {kind}, {tokens} tokens, {lines} lignes]",
    start="Début :",
    end="Fin :",
    failing_tests="Tests en échec : ",
    salient="Points saillants :",
    outline="Plan du code : ",
    files="Fichiers : ",
    names="Noms : ",
    line="ligne",
    reference=(
        "Référence : mask:{digest} (l'original complet : outil mask_get avec hash "
        '"mask:{digest}" et, au choix, lines "PREMIÈRE-DERNIÈRE" ou offset et length ; '
        "ou GET /api/mask/{digest}?lines=PREMIÈRE-DERNIÈRE)"
    ),
    repeated=(
        "[Sortie reprise par une sortie d'outil plus récente, réduite par Kimi Proxy Hub : "
        "{tokens} tokens, {lines} lignes. Les lignes qui ne figurent qu'ici :]"
    ),
    nothing_else="(aucune)",
    user="utilisateur",
    user_verbatim='utilisateur, mot pour mot entre les lignes """ :',
    assistant="assistant",
    call="appel",
    failing="échec",
    lines_count="{count} lignes",
    middle_omitted="[… milieu omis …]",
    summariser_prompt=(
        "Tu résumes le début d'une session d'agent de programmation pour qu'il puisse "
        "continuer sans l'historique complet. Conserve exactement : chaque demande de "
        "l'utilisateur, les décisions prises, les messages d'erreur, les chemins de fichiers, "
        "les numéros de ligne, les identifiants (fonctions, classes, variables, attributs) et "
        "les références « mask:… ». Sois factuel et concis, en listes à puces."
    ),
)


def wording(language: str) -> Wording:
    """The prompt text for ``language`` (``en`` or ``fr``; the config checks the value)."""
    return FRENCH if language == "fr" else ENGLISH
