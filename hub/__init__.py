"""The engagement hub: a Flask app over the connectors and the policy engine."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from hub import config as hub_config
from hub import db, ids, metrics, web
from hub.compliance import rollups
from hub.crypto import SecretBox, new_key
from hub.platforms import registry as platform_registry

csrf = CSRFProtect()


def _templates_folder() -> str:
    # templates/ is a top-level package so a built wheel carries it; find it wherever installed
    import templates

    return str(Path(templates.__file__).parent)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: config, database, login, CSRF and the blueprints. Starts no jobs."""
    app = Flask(
        __name__,
        instance_path=os.environ.get("HUB_INSTANCE_PATH") or None,
        instance_relative_config=True,
        template_folder=_templates_folder(),
    )
    app.config.from_mapping(hub_config.defaults(app.instance_path))
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("HUB")
    else:
        app.config.from_mapping(test_config)
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = hub_config.load_or_create_key(
            app.instance_path, "secret_key", lambda: os.urandom(32).hex()
        )
    if not app.config.get("ENCRYPTION_KEY"):
        app.config["ENCRYPTION_KEY"] = hub_config.load_or_create_key(
            app.instance_path, "encryption_key", new_key
        )
    app.extensions["hub.secretbox"] = SecretBox(app.config["ENCRYPTION_KEY"])
    app.jinja_env.autoescape = True

    db.init_app(app)
    rollups.install()
    ids.init_app(app)  # before the blueprints: their routes use the id converters
    csrf.init_app(app)
    platform_registry.init_app(app)

    from hub import auth, home, i18n
    from hub.answers import views as answers
    from hub.api import install as api
    from hub.compliance.views import audit, policy_admin, reports, review
    from hub.customers.views import profiles as customers
    from hub.engagement.views import (
        conversation,
        notifications,
        performance,
        queue,
        routing,
        teamwork,
    )
    from hub.people.views import account, invite, staff
    from hub.platforms.views import accounts, sandbox
    from hub.publishing.views import posts
    from hub.webhooks import views as webhooks

    auth.init_app(app)
    i18n.init_app(app)
    for bp in (
        auth.bp,
        home.bp,
        queue.bp,
        conversation.bp,
        performance.bp,
        notifications.bp,
        teamwork.bp,
        routing.bp,
        sandbox.bp,
        accounts.bp,
        posts.bp,
        review.bp,
        reports.bp,
        audit.bp,
        policy_admin.bp,
        staff.bp,
        account.bp,
        invite.bp,
        customers.bp,
        answers.bp,
        webhooks.bp,
    ):
        app.register_blueprint(bp)

    metrics.init_app(app)
    api.init_app(app)
    web.register_error_handlers(app)
    web.register_security(app)
    web.register_template_globals(app)
    web.trust_proxies(app)
    return app
