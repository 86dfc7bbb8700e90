"""Accounts and API tokens, for managers: who can sign in (by name, role and state),
a new account, another role, disable and enable again; the API tokens (owner, role,
created, expires, last used, revoked), a new one (its secret shown once, with a copy
button) and revoking one. The rules are the service's (``service.accounts``), as for
the API; each change is in the audit log as a coded action about ``account:NAME`` or
``token:ID``, never with a secret."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from breachclock.domain.catalogue import Voice
from breachclock.domain.problems import problems_of
from breachclock.service import accounts
from breachclock.service.accounts import Role
from breachclock.service.engine import Refused
from breachclock.web.api.accounts import NewAccount, NewToken, RoleChange
from breachclock.web.auth import Action, Principal
from breachclock.web.console.pages import (
    answered,
    auth_of,
    render,
    seen,
    text_or_none,
    voice_of,
)

router = APIRouter(include_in_schema=False)

Keeper = Annotated[Principal, Depends(seen(Action.MANAGE))]
"""A manager; each change records its own audit entry (what, about whom)."""

VALID_DAYS = (30, 90, 365)
"""A new token's choices of life, besides "until revoked"."""

Done = tuple[str, str | None]
"""An action's answer in the reader's words, and a secret to show once (or None)."""


async def listing(request: Request, who: Principal) -> dict[str, Any]:
    """What the page and its refreshed parts show."""
    store = auth_of(request).store
    found = await accounts.accounts(store)
    tokens = await accounts.tokens(store)
    return {
        "accounts": found,
        "tokens": tokens,
        "labels": {k.id: k.label for k in tokens},
        "changes": await store.audit_about(("account", "token")),
        "roles": [r.value for r in Role],
        "owners": [a.name for a in found if not a.disabled],
        "me": who.name,
        "valid_days": VALID_DAYS,
    }


@router.get("/accounts")
async def accounts_page(request: Request, who: Keeper) -> HTMLResponse:
    return render(
        request,
        "accounts.html",
        who,
        title="ui.accounts",
        nav="accounts",
        **await listing(request, who),
    )


async def changed(
    request: Request,
    who: Principal,
    act: Callable[[Voice], Awaitable[Done]],
    fields: tuple[str, ...],
    form: str = "",
) -> HTMLResponse:
    """Run a change: its answer (and the page's lists again, swapped in place), or its
    refusal beside the field in the reader's words."""
    try:
        message, secret = await act(voice_of(request))
    except Refused as err:
        return answered(request, who, problems=err.problems, fields=fields, form=form)
    except ValidationError as err:
        return answered(request, who, problems=problems_of(err), fields=fields, form=form)
    return answered(
        request,
        who,
        message=message,
        fields=fields,
        form=form,
        also="accounts_lists.html",
        secret=secret,
        secret_id=f"secret-{form}",
        **await listing(request, who),
    )


@router.post("/accounts")
async def create_account_form(
    request: Request,
    who: Keeper,
    name: Annotated[str, Form(max_length=200)] = "",
    role: Annotated[str, Form(max_length=20)] = "",
    password: Annotated[str, Form(max_length=400)] = "",
    sso: Annotated[str, Form(max_length=400)] = "",
) -> HTMLResponse:
    async def act(t: Voice) -> Done:
        new = NewAccount.model_validate(
            {
                "name": name.strip(),
                "role": role,
                "password": text_or_none(password),
                "sso": text_or_none(sso),
            }
        )
        auth = auth_of(request)
        given = new.password.get_secret_value() if new.password else None
        made = await accounts.create_account(
            auth.store, new.name, new.role, datetime.now(UTC), password=given, sso=new.sso
        )
        await auth.record(who, request, f"account.created.{new.role.value}", f"account:{new.name}")
        said = t("ui.account_made", name=new.name)
        return (f"{said} {t('ui.password_once', name=new.name)}" if made else said), made

    return await changed(request, who, act, ("name", "role", "password", "sso"), "new")


@router.post("/accounts/{name:path}/role")
async def role_form(
    request: Request,
    name: str,
    who: Keeper,
    role: Annotated[str, Form(max_length=20)] = "",
    row: Annotated[int, Form(ge=0, le=10_000)] = 0,
) -> HTMLResponse:
    async def act(t: Voice) -> Done:
        change = RoleChange.model_validate({"role": role})
        auth = auth_of(request)
        await accounts.set_role(auth.store, name, change.role, who.name)
        await auth.record(who, request, f"account.role.{change.role.value}", f"account:{name}")
        return t("ui.role_changed", name=name, role=change.role.value), None

    return await changed(request, who, act, ("role",), f"a{row}")


@router.post("/accounts/{name:path}/{turn}")
async def state_form(
    request: Request,
    name: str,
    turn: Literal["disable", "enable"],
    who: Keeper,
    row: Annotated[int, Form(ge=0, le=10_000)] = 0,
) -> HTMLResponse:
    """Disable an account (its sessions and tokens stop) or let it sign in again."""

    async def act(t: Voice) -> Done:
        auth = auth_of(request)
        if turn == "disable":
            await accounts.disable_account(auth.store, name, who.name, datetime.now(UTC))
        else:
            await accounts.enable_account(auth.store, name)
        await auth.record(who, request, f"account.{turn}d", f"account:{name}")
        return t(f"ui.account_{turn}d", name=name), None

    return await changed(request, who, act, ("name",), f"a{row}")


@router.post("/tokens")
async def create_token_form(
    request: Request,
    who: Keeper,
    label: Annotated[str, Form(max_length=200)] = "",
    owner: Annotated[str, Form(max_length=200)] = "",
    role: Annotated[str, Form(max_length=20)] = "",
    days: Annotated[str, Form(max_length=10)] = "",
) -> HTMLResponse:
    async def act(t: Voice) -> Done:
        new = NewToken.model_validate(
            {"label": label.strip(), "role": role, "days": days.strip() or None}
        )
        auth = auth_of(request)
        valid = timedelta(days=new.days) if new.days else None
        token_id, secret = await accounts.create_token(
            auth.store, new.label, new.role, owner.strip() or who.name, datetime.now(UTC), valid
        )
        await auth.record(who, request, f"token.created.{new.role.value}", f"token:{token_id}")
        return f"{t('ui.token_made', label=new.label)} {t('ui.token_once')}", secret

    return await changed(request, who, act, ("label", "owner", "role", "days"), "token")


@router.post("/tokens/{token_id}/revoke")
async def revoke_form(
    request: Request,
    token_id: str,
    who: Keeper,
    row: Annotated[int, Form(ge=0, le=10_000)] = 0,
) -> HTMLResponse:
    async def act(t: Voice) -> Done:
        auth = auth_of(request)
        await accounts.revoke_token(auth.store, token_id, datetime.now(UTC))
        await auth.record(who, request, "token.revoked", f"token:{token_id}")
        labels = {k.id: k.label for k in await accounts.tokens(auth.store)}
        return t("ui.token_revoked", label=labels.get(token_id, token_id)), None

    return await changed(request, who, act, ("id",), f"t{row}")
