"""The documentation's reference pages, generated from the code when the site is built
(an MkDocs hook: ``mkdocs.yml`` names this file), so they cannot drift from it:

- every setting, from the settings model (``breachclock.runtime.config.Settings``):
  its variable, type, default and the docstring under the field;
- every command of the ``breachclock`` console script, from click;
- the HTTP API, from the app's own OpenAPI document (also published whole);
- the metrics, from every instrument the code creates on the SDK's meter.

Nothing here is written by hand: to change a page, change the code it reads.
"""

from __future__ import annotations

import ast
import inspect
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

ROOT = Path(__file__).resolve().parents[1]
PAGES = {
    "reference/settings.md": "settings_page",
    "reference/cli.md": "cli_page",
    "reference/api.md": "api_page",
    "reference/metrics.md": "metrics_page",
}
"""Generated page (under docs/) and the function that writes it."""


def settings_docstrings() -> dict[str, str]:
    """The docstring written under each field of ``Settings`` (pydantic keeps none)."""
    from breachclock.runtime import config

    tree = ast.parse(inspect.getsource(config))
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Settings"]
    docs = {}
    for field, after in zip(cls.body, [*cls.body[1:], None], strict=True):
        if (
            isinstance(field, ast.AnnAssign)
            and isinstance(field.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docs[field.target.id] = inspect.cleandoc(after.value.value)
    return docs


def cell(text: str) -> str:
    """Text for one table cell: one line, pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def settings_page() -> str:
    from pydantic_core import PydanticUndefined

    from breachclock.runtime.config import Settings

    docs = settings_docstrings()
    rows = []
    for name, field in Settings.model_fields.items():
        if field.default_factory is not None:
            made = inspect.getdoc(field.default_factory) or field.default_factory.__name__
            default = f"computed: {made.splitlines()[0]}"
        elif field.default is PydanticUndefined or field.default is None:
            default = "unset"
        else:
            default = f"`{json.dumps(field.default, default=str)}`"
        kind = str(field.annotation).replace("typing.", "").replace("pathlib.", "")
        kind = kind.replace("pydantic.types.", "").replace("<class '", "").replace("'>", "")
        rows.append(
            f"| `{field.alias}` | `{cell(kind)}` | {cell(default)} | {cell(docs.get(name, ''))} |"
        )
    return "\n".join(
        [
            "# Settings",
            "",
            f"Every setting the engine, workers, console and CLI read: {len(rows)} environment",
            "variables, all optional, read by `breachclock.runtime.config.Settings`",
            "(pydantic-settings). Generated from that model when this site is built.",
            "Lists and maps are JSON (`'[\"a@operator.example\"]'`).",
            "",
            "| variable | type | default | meaning |",
            "|---|---|---|---|",
            *rows,
            "",
        ]
    )


def commands(group: click.Group, ctx: click.Context) -> Iterator[tuple[click.Context, str]]:
    """Each command under ``group`` (depth first), with its context and its help text."""
    for name in sorted(group.list_commands(ctx)):
        command = group.get_command(ctx, name)
        if command is None:
            continue
        sub = click.Context(command, info_name=name, parent=ctx)
        yield sub, command.get_help(sub)
        if isinstance(command, click.Group):
            yield from commands(command, sub)


def cli_page() -> str:
    from breachclock.app.main import breachclock

    root = click.Context(breachclock, info_name="breachclock")
    lines = [
        "# Commands",
        "",
        "Every command of the `breachclock` console script (`python starter.py` runs the",
        "same commands; `python worker.py` is `breachclock engine`), as `--help` prints it.",
        "Generated from the click commands when this site is built.",
        "",
        "```text",
        breachclock.get_help(root),
        "```",
        "",
    ]
    for ctx, help_text in commands(breachclock, root):
        lines += [f"## `{ctx.command_path}`", "", "```text", help_text, "```", ""]
    return "\n".join(lines)


def openapi() -> dict[str, Any]:
    """The app's OpenAPI document, made without a Temporal client or a store touched."""
    import tempfile

    from breachclock.runtime.config import Settings
    from breachclock.web.app import create_app

    with tempfile.TemporaryDirectory() as data:
        app = create_app(Settings(BREACHCLOCK_DATA_DIR=data))
        return app.openapi()


def schema_name(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return f"`{schema['$ref'].rsplit('/', 1)[-1]}`"
    if "anyOf" in schema:
        return " or ".join(schema_name(s) for s in schema["anyOf"])
    return f"`{schema.get('type', 'object')}`"


def api_page() -> str:
    document = openapi()
    lines = [
        "# HTTP API",
        "",
        f"{document['info']['title']} {document['info'].get('version', '')}: every route of",
        "the API and console, from the app's own OpenAPI document (served at",
        "`/api/openapi.json`; the whole document is [openapi.json](openapi.json)).",
        "Generated when this site is built. Refusals are RFC 9457 problem details with",
        "an `errors` list (code, JSON pointer, detail) in the caller's `Accept-Language`.",
        "",
    ]
    for path, methods in sorted(document["paths"].items()):
        for method, operation in methods.items():
            lines += [f"## `{method.upper()} {path}`", ""]
            if operation.get("summary"):
                lines += [cell(operation["summary"]), ""]
            if operation.get("description"):
                lines += [operation["description"].strip(), ""]
            parameters = operation.get("parameters", [])
            if parameters:
                lines += ["| parameter | in | type | required |", "|---|---|---|---|"]
                for p in parameters:
                    kind = schema_name(p.get("schema", {}))
                    required = "yes" if p.get("required") else "no"
                    lines.append(f"| `{p['name']}` | {p['in']} | {cell(kind)} | {required} |")
                lines.append("")
            body = operation.get("requestBody", {}).get("content", {})
            for media, content in body.items():
                lines += [f"Body ({media}): {schema_name(content.get('schema', {}))}", ""]
            answers = ", ".join(
                f"{code} {cell(r.get('description', ''))}"
                for code, r in operation.get("responses", {}).items()
            )
            lines += [f"Answers: {answers}", ""]
    return "\n".join(lines)


def instruments() -> Iterator[tuple[str, str, str, str, str]]:
    """(name as exported, kind, unit, description, module) of every metric the engine
    defines: each is a ``Metric`` record in ``breachclock.runtime.metrics``. Counters
    (a ``{thing}`` unit) are exported with ``_total``, histograms with their unit; a
    gauge's unit is in its name already."""
    from breachclock.runtime import metrics

    for value in vars(metrics).values():
        if not isinstance(value, metrics.Metric):
            continue
        if value.unit.startswith("{"):
            yield f"{value.name}_total", "counter", value.unit, value.description, METRICS_MODULE
        elif value.unit:
            name = f"{value.name}_{value.unit}"
            yield name, "histogram", value.unit, value.description, METRICS_MODULE
        else:
            yield value.name, "gauge", "", value.description, METRICS_MODULE


METRICS_MODULE = "breachclock/runtime/metrics.py"


def metrics_page() -> str:
    rows = sorted(set(instruments()))
    return "\n".join(
        [
            "# Metrics",
            "",
            "The engine serves Prometheus metrics at `http://BREACHCLOCK_METRICS_ADDRESS/metrics`",
            "when that setting is given: the Temporal SDK's own `temporal_*` metrics, and",
            "breachclock's, below. Generated from every instrument the code creates on the",
            "SDK's replay-safe meter (nothing is counted again on replay).",
            "",
            "| name | kind | unit | meaning | defined in |",
            "|---|---|---|---|---|",
            *(
                f"| `{name}` | {kind} | {cell(unit) or '-'} | {cell(description)} | `{module}` |"
                for name, kind, unit, description, module in rows
            ),
            "",
        ]
    )


def on_files(files: Any, config: Any) -> Any:
    """MkDocs hook: add the generated pages (and the whole OpenAPI document) to the site."""
    from mkdocs.structure.files import File

    for page, function in PAGES.items():
        files.append(File.generated(config, page, content=globals()[function]()))
    files.append(
        File.generated(config, "reference/openapi.json", content=json.dumps(openapi(), indent=2))
    )
    return files
