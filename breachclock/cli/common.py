"""What every command shares: the engine it talks to, its options, reading its input
files, printing, and turning every failure into one line and an exit code."""

from __future__ import annotations

import asyncio
import functools
import getpass
import json
import os
import sys
from collections.abc import Callable, Coroutine
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, TypeVar

import click
from opentelemetry.trace import NoOpTracer, Span, SpanKind
from pydantic import BaseModel
from temporalio.service import RPCError

from breachclock.domain.catalogue import Voice
from breachclock.domain.incident.model import clean_reference
from breachclock.domain.problems import Problem
from breachclock.domain.regimes import RegimeCode
from breachclock.domain.text import InputFileError
from breachclock.runtime import files
from breachclock.runtime.config import SettingsInvalid, load_settings
from breachclock.runtime.receipts import RECEIPT_LIMIT
from breachclock.runtime.telemetry import flush, process_tracer
from breachclock.runtime.terminal import printable
from breachclock.service.engine import Engine, Refused, Unreachable, unreachable
from workflows.messages import Answer, ApproveResult

T = TypeVar("T", bound=BaseModel)

REFUSED, USAGE, UNREACHABLE = 1, 2, 3
"""Exit codes: input the engine refused, a malformed command (click's own), no engine."""


def engine() -> Engine:
    """One engine per command: the settings from this process's environment, the data
    folder found the same way the worker finds it."""
    try:
        return Engine(load_settings())
    except SettingsInvalid as err:
        raise Refused(*err.problems) from None


def voice() -> Voice:
    """How the CLI speaks: ``BREACHCLOCK_LANGUAGE``, else the locale's language."""
    try:
        settings = load_settings()
    except SettingsInvalid:
        return Voice("en")
    return Voice(settings.language, settings.operator_zone)


def say(answer: Answer | ApproveResult) -> str:
    """An update's answer in the CLI's language."""
    return answer.said.words(voice()) if answer.said else answer.message


def refusal_lines(problems: list[Problem], command: click.Command | None) -> list[str]:
    """Each problem as a line for this command's user: the words, and the option that
    sets the field it concerns (``--late-reason``), or where in an input file it sits."""
    words = voice()
    options = {
        param.name: param.opts[0]
        for param in (command.params if command else [])
        if isinstance(param, click.Option) and param.name
    }
    lines = []
    for found in problems:
        text = found.words(words)
        if found.field:
            where = options.get(found.field) or options.get(found.field.split(".")[0])
            text += f" ({where})" if where else f" ({found.field})"
        lines.append(text)
    return lines


def model(cls: type[T], **data: Any) -> T:
    """Validate input at the edge, before anything is sent."""
    return engine().parse(cls, **data)


def read_pdf(path: Path) -> bytes:
    """The receipt's PDF, read within its limit (a plain line when it cannot be)."""
    try:
        with files.open_input(path, RECEIPT_LIMIT) as source:
            return source.read(RECEIPT_LIMIT + 1)
    except InputFileError as err:
        raise Refused.of("file.unreadable", "pdf", detail=str(err)) from err


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = files.read_json(path)
    except InputFileError as err:
        raise Refused.of("file.unreadable", "file", detail=str(err)) from err
    if not isinstance(data, dict):
        raise Refused.of("file.not_an_object", "file", path=str(path))
    return data


def run(coro: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run a command; turn every failure into one line and an exit code."""

    @functools.wraps(coro)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        context = click.get_current_context(silent=True)
        with command_span(context) as span:
            code = _outcome(coro, *args, **kwargs)
            span.set_attribute("process.exit.code", code)
        flush()
        sys.stdout.flush()
        sys.stderr.flush()
        # Exit at once: a short-lived client can abort in interpreter teardown (sdk-python#300).
        os._exit(code)

    return wrapper


def command_span(context: click.Context | None) -> AbstractContextManager[Span]:
    """The command's span, the root of the trace its Temporal calls join: named by the
    command (``breachclock approve``), never its arguments, which can name a person."""
    try:
        tracer = process_tracer(load_settings())
    except SettingsInvalid:  # the command says what is wrong with the settings
        tracer = NoOpTracer()
    name = context.command_path if context is not None else "breachclock"
    return tracer.start_as_current_span(name, kind=SpanKind.CLIENT)


def _outcome(coro: Callable[..., Coroutine[Any, Any, None]], *args: Any, **kwargs: Any) -> int:
    """Run the command: its exit code, every failure said in one line."""
    code = 0
    try:
        asyncio.run(coro(*args, **kwargs))
    except Refused as err:
        context = click.get_current_context(silent=True)
        for line in refusal_lines(err.problems, context.command if context else None):
            click.echo(printable(f"error: {line}", one_line=True), err=True)
        code = REFUSED
    except Unreachable as err:
        click.echo(printable(f"error: {err}", one_line=True), err=True)
        code = UNREACHABLE
    except RPCError as err:
        down = unreachable(err)
        message = f"cannot reach Temporal: {err.message}" if down else err.message
        click.echo(printable(f"error: {message}", one_line=True), err=True)
        code = UNREACHABLE if down else REFUSED
    except OSError as err:
        click.echo(f"error: cannot reach the store ({err.strerror or err})", err=True)
        code = UNREACHABLE
    return code


def emit(as_json: bool, data: Any, text: str) -> None:
    click.echo(printable(json.dumps(data, indent=2, ensure_ascii=False) if as_json else text))


def reference_arg(f: Callable[..., Any]) -> Callable[..., Any]:
    def check(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
        try:
            return clean_reference(value)
        except ValueError as err:
            raise click.BadParameter(str(err)) from err

    return click.argument("reference", callback=check)(f)


by_option = click.option(
    "--by", default=getpass.getuser, show_default="your user name", help="Who acts."
)
agent_option = click.option(
    "--agent", default=getpass.getuser, show_default="your user name", help="The agent."
)


def input_file(help: str, required: bool = True) -> Callable[[Any], Any]:
    """``--file PATH``: an input file, read safely by the command (``read_json``)."""
    return click.option(
        "--file", "file", required=required, type=click.Path(path_type=Path), help=help
    )


json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
track_option = click.option(
    "--track",
    type=click.Choice([r.value for r in RegimeCode]),
    help="Which regulator's report (default: the incident's).",
)


def track_code(value: str | None) -> RegimeCode | None:
    """The ``--track`` option's value as a regime code."""
    return RegimeCode(value) if value else None
