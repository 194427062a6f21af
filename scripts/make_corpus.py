"""Generate the savings corpus: deterministic coding-agent transcripts with key facts.

    python scripts/make_corpus.py            # writes tests/data/savings_corpus/*.json.gz

Each transcript is an OpenAI-style message list (system prompt, user asks,
assistant tool calls, tool results: file dumps, pytest runs with tracebacks, grep
results, JSON reports, server logs) plus the facts a reader must not lose: the
error messages, the files, the identifiers involved and the user's asks. Same
seed, same bytes.
"""

from __future__ import annotations

import gzip
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hub.core.tokens import TokenCounter, load_encoding  # noqa: E402

OUT = ROOT / "tests" / "data" / "savings_corpus"
TARGETS = (
    22_000,
    31_000,
    39_000,
    47_000,
    56_000,
    64_000,
    76_000,
    88_000,
    101_000,
    117_000,
    133_000,
    148_000,
)
DOMAINS = (
    ("billing", ("invoice", "tax", "discount", "payment", "currency", "refund")),
    ("inventory", ("stock", "warehouse", "sku", "reorder", "supplier", "batch")),
    ("auth", ("token", "session", "password", "role", "permission", "claim")),
    ("scheduler", ("job", "cron", "queue", "worker", "retry", "lease")),
    ("parser", ("lexer", "token", "node", "grammar", "span", "scope")),
    ("search", ("index", "query", "ranking", "shard", "analyzer", "posting")),
)
VERBS = (
    "compute",
    "validate",
    "apply",
    "load",
    "parse",
    "merge",
    "resolve",
    "build",
    "normalize",
    "fetch",
    "render",
    "schedule",
    "refresh",
    "encode",
    "split",
)
SUFFIXES = ("total", "rules", "entry", "batch", "window", "state", "limits", "map", "line")
ERRORS = (
    "KeyError: '{noun}_id'",
    "AttributeError: 'NoneType' object has no attribute '{noun}_{suffix}'",
    "TypeError: unsupported operand type(s) for +: 'Decimal' and 'float'",
    "ValueError: invalid literal for int() with base 10: '{noun}-{n}'",
    "AssertionError: assert {n} == {m}",
    "ZeroDivisionError: division by zero",
    "IndexError: list index out of range",
    "RuntimeError: {noun} lock already held by worker-{n}",
)
ASKS = (
    "corrige l'échec de {func} sans changer son interface publique",
    "ajoute un test de régression pour {func} avec un {noun} vide",
    "explique pourquoi {func} renvoie None quand le {noun} est archivé",
    "renomme {func} en {func}_v2 partout dans {package}",
    "vérifie que {path} gère les {noun}s en double",
    "réduis le temps de {func} : il dépasse 2 secondes sur 10 000 {noun}s",
    "ajoute la journalisation des erreurs dans {func}",
    "regarde les logs du worker et trouve pourquoi le {noun} {n} est rejeté",
)
CODE_LINES = (
    "{a} = {b}.get('{noun}', {n})",
    "if {a} is None:\n        return {b}",
    "for item in {b}:\n        {a}.append(item.{noun})",
    "{a} = sum(x.amount for x in {b} if x.{noun})",
    "logger.debug('{noun} %s', {a})",
    "{a} = Decimal({b}) * Decimal('{n}.{m}')",
    "if len({b}) > {n}:\n        raise ValueError('{noun} trop long')",
    "{a} = {{k: v for k, v in {b}.items() if v}}",
    "{a} = await self._repo.fetch_{noun}({b})",
    "result[{a}] = {b}",
)


class Generator:
    def __init__(self, index: int, counter: TokenCounter) -> None:
        self.rng = random.Random(1000 + index)
        self.counter = counter
        self.package, self.nouns = DOMAINS[index % len(DOMAINS)]
        self.project = f"{self.package}-service"
        self.messages: list[dict[str, object]] = []
        self.tokens = 0
        self.facts: dict[str, list[str]] = {
            "errors": [],
            "files": [],
            "identifiers": [],
            "asks": [],
        }
        self.call_id = 0

    def pick(self, items: tuple[str, ...]) -> str:
        return items[self.rng.randrange(len(items))]

    def noun(self) -> str:
        return self.pick(self.nouns)

    def func(self) -> str:
        return f"{self.pick(VERBS)}_{self.noun()}_{self.pick(SUFFIXES)}"

    def path(self) -> str:
        return f"src/{self.package}/{self.noun()}_{self.pick(('service', 'model', 'rules'))}.py"

    def add(self, message: dict[str, object]) -> None:
        self.messages.append(message)
        self.tokens += self.counter.count_message(message)  # type: ignore[arg-type]

    def fact(self, kind: str, value: str) -> None:
        if value not in self.facts[kind]:
            self.facts[kind].append(value)

    def code_line(self) -> str:
        a, b = self.noun() + "_" + self.pick(SUFFIXES), self.noun() + "s"
        template = self.pick(CODE_LINES)
        line = template.format(
            a=a, b=b, noun=self.noun(), n=self.rng.randrange(2, 500), m=self.rng.randrange(10, 99)
        )
        return "    " + line

    def file_dump(self, path: str, functions: list[str]) -> str:
        lines = [
            f'"""{path} : logique métier du module {self.package}."""',
            "",
            "from __future__ import annotations",
            "",
            "import logging",
            "from decimal import Decimal",
            "",
            "logger = logging.getLogger(__name__)",
            "",
        ]
        for name in functions:
            lines += [
                f"def {name}({self.noun()}s, *, strict=False):",
                f'    """{name.replace("_", " ").capitalize()}."""',
            ]
            lines += [self.code_line() for _ in range(self.rng.randrange(6, 22))]
            lines += [f"    return {self.noun()}_{self.pick(SUFFIXES)}", "", ""]
        return "\n".join(
            f"{i + 1:4d}  {line}" for i, line in enumerate("\n".join(lines).split("\n"))
        )

    def test_run(self, failing: list[tuple[str, str, str]]) -> str:
        total = self.rng.randrange(40, 160)
        out = [
            "=" * 29 + " test session starts " + "=" * 30,
            "platform linux -- Python 3.11.9, pytest-8.3.2, pluggy-1.5.0",
            f"rootdir: /home/dev/{self.project}",
            f"collected {total} items",
            "",
        ]
        for i in range(total):
            out.append(f"tests/test_{self.noun()}.py::test_{self.func()}_{i} PASSED")
        if failing:
            out.append("=" * 35 + " FAILURES " + "=" * 35)
        for func, path, error in failing:
            out += [
                f"_____ test_{func} _____",
                "",
                f"    def test_{func}():",
                f">       result = {func}(fixtures.{self.noun()}s)",
                "",
                f"tests/test_{self.package}.py:{self.rng.randrange(20, 300)}: ",
                f"{path}:{self.rng.randrange(20, 400)}: in {func}",
                f"    {self.code_line().strip()}",
                f"E   {error}",
            ]
        for func, _, error in failing:
            out.append(f"FAILED tests/test_{self.package}.py::test_{func} - {error}")
        out.append(f"==== {len(failing)} failed, {total - len(failing)} passed in 4.2s ====")
        return "\n".join(out)

    def logs(self, func: str, path: str, error: str) -> str:
        out = []
        for i in range(self.rng.randrange(130, 260)):
            out.append(
                f"2026-03-02 10:{i // 60 % 60:02d}:{i % 60:02d},{i % 997:03d} INFO "
                f"[worker-{i % 4}] {self.noun()} {1000 + i} traité en {i % 90 + 3} ms"
            )
            if i == 120:
                out += [
                    f"2026-03-02 10:02:00,120 ERROR [worker-2] échec du {self.noun()} 1120",
                    "Traceback (most recent call last):",
                    f'  File "/srv/{self.project}/{path}", line 77, in {func}',
                    f"    {self.code_line().strip()}",
                    error,
                ]
        return "\n".join(out)

    def grep(self, word: str) -> str:
        return "\n".join(
            f"{self.path()}:{self.rng.randrange(1, 600)}:{self.code_line()} # {word}"
            for _ in range(self.rng.randrange(10, 50))
        )

    def json_report(self) -> str:
        files = {
            f"src/{self.package}/{self.noun()}_{i}.py": {
                "summary": {
                    "covered_lines": self.rng.randrange(10, 400),
                    "num_statements": 400,
                    "percent_covered": self.rng.randrange(30, 100),
                },
                "missing_lines": sorted(self.rng.sample(range(1, 400), 25)),
            }
            for i in range(self.rng.randrange(10, 30))
        }
        return json.dumps({"meta": {"version": "7.6.1"}, "files": files}, indent=2)

    def call(self, name: str, arguments: dict[str, object]) -> dict[str, object]:
        self.call_id += 1
        return {
            "id": f"call_{self.call_id:04d}",
            "type": "function",
            "function": {"name": name, "arguments": json.dumps(arguments)},
        }

    def tool_round(self, text: str, calls: list[tuple[dict[str, object], str]]) -> None:
        self.add({"role": "assistant", "content": text, "tool_calls": [c for c, _ in calls]})
        for call, result in calls:
            self.add({"role": "tool", "tool_call_id": call["id"], "content": result})

    def exchange(self) -> None:
        func, path = self.func(), self.path()
        others = [self.func() for _ in range(self.rng.randrange(4, 10))]
        error = self.pick(ERRORS).format(
            noun=self.noun(),
            suffix=self.pick(SUFFIXES),
            n=self.rng.randrange(2, 900),
            m=self.rng.randrange(2, 9),
        )
        ask = self.pick(ASKS).format(
            func=func,
            noun=self.noun(),
            package=self.package,
            path=path,
            n=self.rng.randrange(100, 999),
        )
        self.fact("asks", ask)
        self.add({"role": "user", "content": f"Dans {self.project}, {ask}."})
        functions = [*others[: len(others) // 2], func, *others[len(others) // 2 :]]
        read = self.call("read_file", {"path": path})
        self.tool_round(
            "Je lis d'abord le module concerné.", [(read, self.file_dump(path, functions))]
        )
        failing = [(func, path, error)] if self.rng.random() < 0.8 else []
        tests = self.call("run_tests", {"args": ["-v", f"tests/test_{self.package}.py"]})
        grep = self.call("grep", {"pattern": func, "path": "src/"})
        self.tool_round(
            "Je lance les tests et je cherche les appels.",
            [(tests, self.test_run(failing)), (grep, self.grep(func))],
        )
        if failing:
            self.fact("errors", error)
            self.fact("files", path)
            self.fact("identifiers", func)
        if self.rng.random() < 0.4:
            log_error = f"ConnectionRefusedError: [Errno 111] Connection refused ({self.noun()}-db)"
            logs = self.call("read_logs", {"service": "worker", "lines": 400})
            self.tool_round(
                "Je consulte les journaux du worker.", [(logs, self.logs(func, path, log_error))]
            )
            self.fact("errors", log_error)
        if self.rng.random() < 0.3:
            report = self.call("coverage_report", {"format": "json"})
            self.tool_round("Je regarde la couverture.", [(report, self.json_report())])
        helper = self.rng.choice(others)
        patch = self.call(
            "apply_patch", {"path": path, "diff": f"@@ def {func} @@\n-    ...\n+    ..."}
        )
        self.tool_round(
            f"Je corrige `{func}` et j'ajuste `{helper}`.", [(patch, "Correctif appliqué.")]
        )
        self.fact("identifiers", helper)
        self.add(
            {
                "role": "assistant",
                "content": (
                    f"C'est fait : `{func}` dans {path} ne plante plus"
                    + (f" (l'erreur était « {error} »)" if failing else "")
                    + f". J'ai aussi simplifié `{helper}`."
                    + f" Les {self.noun()}s archivés sont ignorés."
                ),
            }
        )

    def build(self, target: int) -> dict[str, object]:
        self.add(
            {
                "role": "system",
                "content": (
                    f"Tu es un agent de programmation qui travaille dans le dépôt {self.project}. "
                    "Utilise les outils read_file, run_tests, grep, read_logs, coverage_report et "
                    "apply_patch. Réponds en français, explique tes décisions, ne modifie jamais "
                    "les migrations SQL déjà publiées."
                ),
            }
        )
        while self.tokens < target:
            self.exchange()
        return {
            "name": self.project,
            "tokens": self.tokens,
            "messages": self.messages,
            "key_facts": self.facts,
        }


def main() -> None:
    counter = TokenCounter(load_encoding())
    OUT.mkdir(parents=True, exist_ok=True)
    for index, target in enumerate(TARGETS):
        data = Generator(index, counter).build(target)
        path = OUT / f"{index + 1:02d}-{data['name']}.json.gz"
        raw = json.dumps(data, ensure_ascii=False, indent=0).encode()
        path.write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))
        print(f"{path.name}: {data['tokens']} tokens, {len(raw) // 1024} Kio")


if __name__ == "__main__":
    main()
