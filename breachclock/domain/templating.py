"""The one Jinja2 set-up for every document breachclock writes (reports, notices)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jinja2


def environment(
    package: str,
    autoescape: bool = False,
    filters: Mapping[str, Callable[..., Any]] | None = None,
    kind: str = ".j2",
) -> jinja2.Environment:
    """Templates from ``package``/templates; an undefined name fails loudly, not blank.

    Every template whose name ends in ``kind`` is compiled here, once, and never re-read
    (no auto-reload): the package's templates do not change while it runs, and workflow
    code can then render them (the sandbox forbids reading files) with the same result
    on replay. ``kind`` keeps an environment to its own templates (the text notices',
    not the HTML ones'): every process of the engine and every command compiles them
    at import.
    """
    env = jinja2.Environment(
        loader=jinja2.PackageLoader(package, "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
        cache_size=-1,
    )
    env.filters.update(filters or {})
    for name in env.list_templates(filter_func=lambda name: name.endswith(kind)):
        env.get_template(name)
    return env
