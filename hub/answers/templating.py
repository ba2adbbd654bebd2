"""Saved replies' placeholders: a Jinja2 template checked when saved, rendered for one mention.

Three fences, each with its own job:

1. ``jinja2.sandbox.ImmutableSandboxedEnvironment`` refuses what would escape the template: any
   ``_``-prefixed attribute (``''.__class__.__mro__``, ``cycler.__init__.__globals__``), methods
   that change a list or dict, unsafe callables. It is what stands between a saved reply and the
   server's Python objects; nothing here replaces it.
2. A whitelist of template syntax (``ALLOWED_NODES``, ``ALLOWED_FILTERS``): placeholders,
   ``{% if %}``, a few text filters, ``~`` and comparisons. No loops, no calls, no arithmetic, no
   ``{% set %}``/macros/includes. This is the time and size bound: with no loop and no
   operator that multiplies, rendering does work linear in the template's length (at most
   ``MAX_BODY`` characters) and the output is at most the template plus each placeholder's value
   (which we supply, short) once per use. The sandbox alone would allow
   ``{% for i in range(99999) %}{% for j in range(99999) %}`` (10^10 steps) or ``'x' * 10**9``.
   A thread with a timeout cannot stop a CPU-bound Python loop, so the bound is by construction.
3. ``MAX_OUTPUT`` cuts the rendered text anyway (belt and braces, and a reply longer than any
   platform allows is useless).

Autoescape is OFF on purpose: the output is plain text for a social post, put into a textarea's
value by script (never as HTML); HTML-escaping would turn "Tom & Jerry's" into
"Tom &amp; Jerry&#39;s" in the customer's reply. The page shows it through Jinja2's autoescaping
like any other text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import Environment, StrictUndefined, TemplateSyntaxError, UndefinedError, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from hub.errors import UserError
from hub.i18n import _

#: the longest saved reply body (characters of template source)
MAX_BODY = 2000
#: the longest rendered text kept (characters)
MAX_OUTPUT = 2000

#: the template syntax a saved reply may use (see the module's docstring for why)
ALLOWED_NODES: tuple[type[nodes.Node], ...] = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Name,
    nodes.Const,
    nodes.Getattr,
    nodes.Getitem,
    nodes.If,
    nodes.CondExpr,
    nodes.Filter,
    nodes.Test,
    nodes.Compare,
    nodes.Operand,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.Concat,
)
#: the filters a saved reply may use: text-shaping only, none multiplies its input
ALLOWED_FILTERS = frozenset(
    {"default", "d", "upper", "lower", "title", "capitalize", "trim", "truncate"}
)
#: the tests a saved reply may use in ``{% if x is ... %}``
ALLOWED_TESTS = frozenset({"defined", "undefined", "none", "string", "number"})

#: the placeholders, each with the fields it has (what the editor lists, what a body may use)
VARIABLES: dict[str, tuple[str, ...]] = {
    "customer": ("name", "handle"),
    "product": ("name", "url", "price"),
    "order": ("number", "status", "tracking_url"),
    "agent": ("name",),
    "links": ("returns", "help", "size_guide", "order_status"),
}

#: what a body is test-rendered with when it is saved
SAMPLE: dict[str, dict[str, str]] = {
    "customer": {"name": "Dana", "handle": "@dana_kruger"},
    "product": {
        "name": "Kestrel Cirrus Runner",
        "url": "https://kestrelfootwear.com/p/cirrus-runner",
        "price": "$129.95",
    },
    "order": {
        "number": "KF-20481736",
        "status": "shipped",
        "tracking_url": "https://track.example/KF-20481736",
    },
    "agent": {"name": "Priya"},
    "links": {
        "returns": "https://kestrelfootwear.com/returns",
        "help": "https://kestrelfootwear.com/help",
        "size_guide": "https://kestrelfootwear.com/size-guide",
        "order_status": "https://kestrelfootwear.com/orders",
    },
}


class Missing(str):
    """A value the hub does not know for this mention: shows as ``[order.number]`` so the
    person sees what to fill in, and is false in ``{% if order.number %}``."""

    def __bool__(self) -> bool:
        return False


def sandbox(environment: Callable[..., Environment] = ImmutableSandboxedEnvironment) -> Environment:
    """The environment saved replies are checked and rendered in (plain text, strict names)."""
    return environment(autoescape=False, undefined=StrictUndefined, keep_trailing_newline=False)


_ENV = sandbox()


@dataclass(frozen=True)
class Problem:
    """Why a body cannot be saved: a kind ("syntax", "not_allowed", "unsafe", "unknown",
    "too_long") and the message for the person."""

    kind: str
    message: str


def check_body(body: str, env: Environment | None = None) -> Problem | None:
    """Why ``body`` cannot be a saved reply, or None: parsed, its syntax whitelisted,
    test-rendered with ``SAMPLE`` in the sandbox, every name a known placeholder."""
    env = env or _ENV
    if not body.strip():
        return Problem("empty", _("Write the reply's text."))
    if len(body) > MAX_BODY:
        return Problem(
            "too_long", _("Saved replies are at most %(n)s characters.", n=f"{MAX_BODY:,}")
        )
    try:
        tree = env.parse(body)
    except TemplateSyntaxError as exc:
        return Problem(
            "syntax",
            _(
                "Line %(line)s: the placeholders are not written right (%(detail)s).",
                line=exc.lineno,
                detail=exc.message or "",
            ),
        )
    if (refused := _refused_syntax(tree)) is not None:
        return Problem(
            "not_allowed",
            _(
                "Saved replies may use placeholders, {%% if %%} and simple filters only; "
                "not %(what)s.",
                what=refused,
            ),
        )
    try:
        _render(env, body, SAMPLE)
    except SecurityError:
        return Problem(
            "unsafe", _("That placeholder reaches into the hub's internals; it is not allowed.")
        )
    except UndefinedError as exc:
        return Problem("unknown", _unknown_message(str(exc.message or "")))
    except Exception:  # noqa: BLE001 - any other failure of a template is the writer's to fix
        return Problem("syntax", _("The placeholders could not be filled in; check them."))
    # no {% set %} or loop is allowed, so every name read is a placeholder or unknown (the
    # environment's globals, cycler, range..., included)
    names = {n.name for n in tree.find_all(nodes.Name) if n.ctx == "load"}
    unknown = sorted(names - VARIABLES.keys())
    if unknown:
        return Problem("unknown", _unknown_message(", ".join(unknown)))
    return None


def _unknown_message(what: str) -> str:
    known = ", ".join(f"{name}.{field}" for name, fields in VARIABLES.items() for field in fields)
    return _("Unknown placeholder (%(what)s). You can use: %(known)s.", what=what, known=known)


def _refused_syntax(tree: nodes.Template) -> str | None:
    """The first piece of syntax outside the whitelist, named for the person, or None."""
    for node in tree.find_all(nodes.Node):
        if not isinstance(node, ALLOWED_NODES):
            return type(node).__name__
        if isinstance(node, nodes.Filter) and node.name not in ALLOWED_FILTERS:
            return f"|{node.name}"
        if isinstance(node, nodes.Test) and node.name not in ALLOWED_TESTS:
            return f"is {node.name}"
        if isinstance(node, nodes.Compare) and any(op.op not in ("eq", "ne") for op in node.ops):
            return _("comparisons other than == and !=")
    return None


@lru_cache(maxsize=512)
def _template(body: str) -> Any:
    """Compiled once per body: the nudge renders every visible reply on each check."""
    return _ENV.from_string(body)


def _render(env: Environment, body: str, values: Mapping[str, Any]) -> str:
    template = _template(body) if env is _ENV else env.from_string(body)
    pieces: list[str] = []
    size = 0
    for piece in template.generate(**values):
        pieces.append(piece)
        size += len(piece)
        if size > MAX_OUTPUT:
            break
    return "".join(pieces)[:MAX_OUTPUT].strip()


def render_body(body: str, values: Mapping[str, Mapping[str, str]]) -> str:
    """The body with ``values`` filled in, in the sandbox; a field with no value shows as
    ``[name.field]``. A body the checks refuse now (saved before a rule tightened) raises
    ``UserError``: every body was checked when saved, and the sandbox still guards each render."""
    tree = _ENV.parse(body) if len(body) <= MAX_BODY else None
    if tree is None or _refused_syntax(tree) is not None:
        raise UserError(_("This saved reply no longer passes the checks; edit it first."))
    filled = {
        name: {
            field: values.get(name, {}).get(field) or Missing(f"[{name}.{field}]")
            for field in fields
        }
        for name, fields in VARIABLES.items()
    }
    try:
        return _render(_ENV, body, filled)
    except (SecurityError, UndefinedError) as exc:
        raise UserError(_("This saved reply no longer passes the checks; edit it first.")) from exc
