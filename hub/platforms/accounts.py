"""The company's platform accounts: add them with credentials sealed at rest, replace those,
pause accounts, test connections, and report each account's polling and push health."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.base import AuthExpired, ConnectorError, RateLimited, Transient
from connectors.outbound import AddressPolicy, UnsafeAddress
from hub.audit import record_event
from hub.crypto import secret_box
from hub.errors import UserError
from hub.i18n import _
from hub.models import PlatformAccount
from hub.platforms.registry import connector_for, platforms

log = logging.getLogger(__name__)


class AccountError(UserError):
    """Bad input for an account; the message is for the person who typed it."""


def address_problems(app: Flask, platform: str, config: dict[str, Any]) -> list[str]:
    """What is wrong with the addresses in an account's settings (resolved and checked now;
    the connector checks every connection again before it sends anything)."""
    cls = platforms().get(platform)
    if cls is None:
        return []
    allow_local = bool(app.config["ALLOW_LOCAL_PLATFORMS"])
    policy = AddressPolicy(allow_local=allow_local)
    labels = {f.name: f.label for f in account_fields(platform)}
    problems = []
    for key, secure in cls.address_settings.items():
        value = config.get(key)
        if value in (None, ""):
            continue  # the connector's own default address
        label = labels.get(key, key)
        try:
            policy.check_url(str(value), secure, label)
        except UnsafeAddress as exc:
            hint = ""
            if exc.local and not allow_local:
                hint = " " + _(
                    "Platforms on this machine or a private network need the hub's "
                    "%(setting)s setting.",
                    setting="HUB_ALLOW_LOCAL_PLATFORMS",
                )
            problems.append(f"{exc}{hint}")
        except Transient:
            problems.append(_("The host name of %(setting)s could not be found.", setting=label))
    return problems


def create_account(
    session: Session,
    app: Flask,
    platform: str,
    handle: str,
    config: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> PlatformAccount:
    """Add an account; its addresses must pass the address policy (AccountError if not), and
    secrets are encrypted before they touch the database."""
    if platform not in platforms():
        raise ValueError(f"unknown platform {platform!r}")
    problems = address_problems(app, platform, config or {})
    if problems:
        raise AccountError(" ".join(problems))
    account = PlatformAccount(
        platform=platform,
        handle=handle,
        config=config or {},
        secrets_encrypted=secret_box(app).seal(secrets or {}),
    )
    session.add(account)
    session.flush()
    return account


# --- the admin accounts page's services -------------------------------------------------------


@dataclass(frozen=True)
class NewAccount:
    """What an admin typed to connect an account."""

    platform: str
    handle: str
    #: plain settings from the connector's schema; blank values are dropped
    settings: dict[str, str] = field(default_factory=dict)
    #: secret fields from the connector's schema; blank values are dropped
    secrets: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FormField:
    """One field of a connector's configuration_schema(), ready for a form."""

    name: str
    label: str
    secret: bool
    required: bool
    default: str


def account_handles(session: Session, platform: str) -> list[str]:
    """The handles of the hub's accounts on ``platform`` (nobody else may post as them)."""
    return list(
        session.scalars(select(PlatformAccount.handle).where(PlatformAccount.platform == platform))
    )


def available_platforms() -> list[str]:
    """Platform names an account can be added for (every loaded connector)."""
    return sorted(platforms())


def account_fields(platform: str) -> list[FormField]:
    """The form fields of a platform's configuration_schema(), except the handle."""
    cls = platforms().get(platform)
    schema = cls.configuration_schema() if cls is not None else {}
    return [
        FormField(
            name=name,
            label=str(spec.get("label") or spec.get("title") or name),
            secret=bool(spec.get("secret")),
            required=bool(spec.get("required")),
            default=str(spec.get("default") or ""),
        )
        for name, spec in schema.items()
        if name != "handle"  # the form asks for the handle on its own
    ]


def add_account(
    session: Session, app: Flask, new: NewAccount, actor_id: int | None = None
) -> PlatformAccount:
    """Validate and add an account; secrets are sealed by create_account (caller commits)."""
    handle = new.handle.strip().lstrip("@")
    problems = []
    if new.platform not in available_platforms():
        problems.append(_("Choose a platform."))
    if not handle:
        problems.append(_("Give the account's handle."))
    fields = account_fields(new.platform)
    settings = {
        f.name: new.settings[f.name].strip()
        for f in fields
        if not f.secret and new.settings.get(f.name, "").strip()
    }
    secrets = {f.name: new.secrets[f.name] for f in fields if f.secret and new.secrets.get(f.name)}
    for f in fields:
        given = secrets if f.secret else settings
        if f.required and f.name not in given:
            problems.append(_("%(field)s is required.", field=f.label))
    if new.platform in available_platforms():
        problems.extend(address_problems(app, new.platform, settings))
    if (
        handle
        and new.platform
        and session.scalar(
            select(PlatformAccount.id).where(
                PlatformAccount.platform == new.platform, PlatformAccount.handle == handle
            )
        )
    ):
        problems.append(
            _(
                "@%(handle)s on %(platform)s is already connected.",
                handle=handle,
                platform=new.platform,
            )
        )
    if problems:
        raise AccountError(" ".join(problems))
    account = create_account(
        session, app, new.platform, handle, {"handle": handle} | settings, secrets
    )
    record_event(
        session,
        "account_added",
        "account",
        account.id,
        actor_id,
        platform=new.platform,
        handle=handle,
        secret_fields=sorted(secrets),
    )
    return account


def replace_credentials(
    session: Session,
    app: Flask,
    account: PlatformAccount,
    secrets: dict[str, str],
    actor_id: int | None = None,
) -> None:
    """Seal new credentials and forget the connector's saved state (it belonged to the old ones)."""
    given = {k: v for k, v in secrets.items() if v}
    if not given:
        raise AccountError(_("Fill in at least one credential to replace."))
    box = secret_box(app)
    account.secrets_encrypted = box.seal(box.open(account.secrets_encrypted) | given)
    # a saved Bluesky session or X user id may belong to the old credentials
    account.state_encrypted = None
    account.error_count = 0
    account.last_error = None
    account.next_poll_at = None
    record_event(
        session,
        "account_credentials_replaced",
        "account",
        account.id,
        actor_id,
        secret_fields=sorted(given),
    )


def set_account_active(
    session: Session, account: PlatformAccount, active: bool, actor_id: int | None = None
) -> None:
    """Switch polling and sending for an account on or off (caller commits)."""
    if account.active == active:
        return
    account.active = active
    if active:
        account.next_poll_at = None  # poll on the next tick
    record_event(
        session,
        "account_activated" if active else "account_deactivated",
        "account",
        account.id,
        actor_id,
    )


def _plain(exc: Exception) -> str:
    return str(exc).strip().rstrip(".") or type(exc).__name__


def test_connection(app: Flask, account: PlatformAccount) -> tuple[bool, str]:
    """Ask the platform who the credentials belong to; (ok, a message in plain words)."""
    try:
        who = connector_for(app, account).verify()
    except AuthExpired as exc:
        return False, _(
            "The platform refused the credentials: %(error)s. Replace them.", error=_plain(exc)
        )
    except RateLimited as exc:
        if exc.reset_at:
            return False, _(
                "The platform asks us to wait until %(time)s UTC: %(error)s.",
                time=exc.reset_at.strftime("%H:%M"),
                error=_plain(exc),
            )
        return False, _("The platform asks us to wait: %(error)s.", error=_plain(exc))
    except Transient as exc:
        return False, _(
            "Could not reach the platform right now: %(error)s. Try again later.",
            error=_plain(exc),
        )
    except ConnectorError as exc:
        return False, _("The connection test failed: %(error)s.", error=_plain(exc))
    except Exception as exc:  # a broken setting must not become a 500 on the admin page
        log.exception("connection test of account %s failed", account.id)
        return False, _(
            "The connection test failed unexpectedly (%(error)s).", error=type(exc).__name__
        )
    return True, _("Connected as @%(handle)s", handle=who.lstrip("@"))


test_connection.__test__ = False  # type: ignore[attr-defined]  # not a pytest test when imported
