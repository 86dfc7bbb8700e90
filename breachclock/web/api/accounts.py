"""Accounts and API tokens, for managers: create, change a role, disable, enable,
revoke. Each change is in the audit log (a coded ``audit.*`` action about
``account:NAME`` or ``token:ID``, never a secret); a token's secret is shown once, in
the answer that made it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, Field, SecretStr

from breachclock.domain.inputs import Name
from breachclock.runtime.store.accounts import AuditEntry, Token
from breachclock.service import accounts
from breachclock.service.accounts import Role
from breachclock.web.api.common import Manager, Reader, auth_of
from breachclock.web.problems import REFUSALS

router = APIRouter(tags=["accounts"], responses=REFUSALS)

AccountName = Annotated[str, Path(min_length=1, max_length=100)]


class AccountView(BaseModel):
    name: str
    role: Role
    sso: str | None
    """The single sign-on identity that signs in as this account."""
    password: bool
    """Signs in with a password."""
    disabled: bool


class NewAccount(BaseModel):
    model_config = {"extra": "forbid"}
    name: Name
    role: Role
    sso: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    """Signs in through single sign-on as this identity (then without a password)."""
    password: Annotated[SecretStr, Field(min_length=12, max_length=200)] | None = None
    """Unset and no ``sso``: one is made and shown once."""


class AccountMade(BaseModel):
    name: str
    password: str | None
    """The password made for it, shown once (None: given, or single sign-on)."""


class RoleChange(BaseModel):
    model_config = {"extra": "forbid"}
    role: Role


class NewToken(BaseModel):
    model_config = {"extra": "forbid"}
    label: Name
    role: Role
    days: Annotated[int, Field(ge=1, le=3650)] | None = 365
    """How long it is valid; null: until revoked."""


class TokenMade(BaseModel):
    id: str
    secret: str
    """Shown once: send it as ``Authorization: Bearer SECRET``."""
    expires_at: datetime | None


@router.get("/accounts", response_model=list[AccountView])
async def accounts_route(request: Request, who: Manager) -> list[AccountView]:
    found = await accounts.accounts(auth_of(request).store)
    return [
        AccountView(
            name=a.name,
            role=Role(a.role),
            sso=a.sso,
            password=a.password_hash is not None,
            disabled=a.disabled,
        )
        for a in found
    ]


@router.post("/accounts", status_code=201, response_model=AccountMade)
async def create_account_route(request: Request, who: Manager, new: NewAccount) -> AccountMade:
    auth = auth_of(request)
    password = new.password.get_secret_value() if new.password else None
    made = await accounts.create_account(
        auth.store, new.name, new.role, datetime.now(UTC), password=password, sso=new.sso
    )
    await auth.record(who, request, f"account.created.{new.role.value}", f"account:{new.name}")
    return AccountMade(name=new.name, password=made)


@router.put("/accounts/{name}/role", status_code=204, response_class=Response)
async def role_route(
    request: Request, name: AccountName, who: Manager, change: RoleChange
) -> Response:
    auth = auth_of(request)
    await accounts.set_role(auth.store, name, change.role, who.name)
    await auth.record(who, request, f"account.role.{change.role.value}", f"account:{name}")
    return Response(status_code=204)


@router.post("/accounts/{name}/disable", status_code=204, response_class=Response)
async def disable_route(request: Request, name: AccountName, who: Manager) -> Response:
    """Its sessions end and the tokens it made stop, at once."""
    auth = auth_of(request)
    await accounts.disable_account(auth.store, name, who.name, datetime.now(UTC))
    await auth.record(who, request, "account.disabled", f"account:{name}")
    return Response(status_code=204)


@router.post("/accounts/{name}/enable", status_code=204, response_class=Response)
async def enable_route(request: Request, name: AccountName, who: Manager) -> Response:
    """It may sign in again; the sessions and tokens stopped when it was disabled stay
    stopped."""
    auth = auth_of(request)
    await accounts.enable_account(auth.store, name)
    await auth.record(who, request, "account.enabled", f"account:{name}")
    return Response(status_code=204)


@router.get("/tokens", response_model=list[Token])
async def tokens_route(request: Request, who: Manager) -> list[Token]:
    return await accounts.tokens(auth_of(request).store)


@router.post("/tokens", status_code=201, response_model=TokenMade)
async def create_token_route(request: Request, who: Manager, new: NewToken) -> TokenMade:
    auth = auth_of(request)
    now = datetime.now(UTC)
    valid = timedelta(days=new.days) if new.days else None
    owner = who.name if who.csrf is not None else None  # a token's label is no account
    token_id, secret = await accounts.create_token(
        auth.store, new.label, new.role, owner, now, valid
    )
    await auth.record(who, request, f"token.created.{new.role.value}", f"token:{token_id}")
    return TokenMade(id=token_id, secret=secret, expires_at=now + valid if valid else None)


@router.delete("/tokens/{token_id}", status_code=204, response_class=Response)
async def revoke_route(
    request: Request, token_id: Annotated[str, Path(max_length=64)], who: Manager
) -> Response:
    auth = auth_of(request)
    await accounts.revoke_token(auth.store, token_id, datetime.now(UTC))
    await auth.record(who, request, "token.revoked", f"token:{token_id}")
    return Response(status_code=204)


@router.get("/audit", response_model=list[AuditEntry])
async def access_log(request: Request, who: Reader) -> list[AuditEntry]:
    """The latest entries about no incident, newest first: signing in (and failing, and
    the locks), signing out, API tokens' use (first in each hour), lists, accounts."""
    return await auth_of(request).store.audit_of(None)
