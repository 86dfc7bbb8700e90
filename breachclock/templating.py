"""The one Jinja2 set-up for every document breachclock writes (reports, notices)."""

from __future__ import annotations

import jinja2


def environment(package: str, autoescape: bool = False) -> jinja2.Environment:
    """Templates from ``package``/templates; an undefined name fails loudly, not blank."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader(package, "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
