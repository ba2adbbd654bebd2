"""``codenames``: confidential project names in any language, spelling or hashtag (G4).

Strong aliases ("Project Heron", "Proyecto Garza", "苍鹭计划") are always confidential. A bare
name ("heron") is an ordinary word, so it only counts when the author hides it (leetspeak,
invisible characters, look-alike letters), tags it, or talks about a launch around it, and never
when the sentence is about the bird or a person (Christopher Wren).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from policies.rules import Rule, register
from policies.types import Finding

if TYPE_CHECKING:
    from policies.doc import Doc
    from policies.engine import PackBuilder

_CJK = re.compile(r"[\u3400-\u9fff]")


def _variants(alias: str) -> set[str]:
    """Spacing variants an author may use: "project heron", "projectheron", "heron 项目"."""
    out = {alias}
    if " " in alias:
        out.add(alias.replace(" ", ""))
    m = re.match(r"^([^\u3400-\u9fff]+?)\s*([\u3400-\u9fff].*)$", alias)
    if m:
        out.add(f"{m.group(1)} {m.group(2)}")
        out.add(f"{m.group(1)}{m.group(2)}")
    return out


@register("codenames")
class CodenameRule(Rule):
    """Flag codenames; bare bird names need a project context and no innocent context, or a
    word that can only mean the project (``strong_context``: "internally", "codename")."""

    def __init__(self, spec: Mapping[str, Any], builder: PackBuilder) -> None:
        super().__init__(spec, builder)
        lex = builder.lexicon
        self.window = int(spec.get("window", 60))
        self.names: list[tuple[str, Any, Any]] = []  # (name, strong group, bare group)
        for entry in spec.get("codenames") or []:
            strong: set[str] = set()
            for alias in entry.get("aliases") or []:
                strong |= _variants(str(alias))
            bare = [str(b) for b in entry.get("bare") or []]
            self.names.append(
                (str(entry["name"]), lex.add(sorted(strong), self.view), lex.add(bare, self.view))
            )
        self.project_context = lex.add(spec.get("project_context") or [], self.view)
        self.strong_context = lex.add(spec.get("strong_context") or [], self.view)
        self.innocent_context = lex.add(spec.get("innocent_context") or [], self.view)
        self.bare_message = str(spec.get("bare_message", self.message))

    def _hidden(self, doc: Doc, span: tuple[int, int]) -> bool:
        """True when the original spelling differs from the plain word (Her0n, Her\u200bon)."""
        start, end = doc.original_span(self.view, span)
        typed = doc.text[start:end]
        word = doc.folded.text[span[0] : span[1]]
        typed = "".join(
            c
            for c in unicodedata.normalize("NFD", typed.casefold())
            if not unicodedata.combining(c)
        )
        return typed != word

    def evaluate(self, doc: Doc) -> list[Finding]:
        """Return a finding per codename mentioned (strong alias or bare name in context)."""
        out: list[Finding] = []
        folded = doc.folded.text
        for name, strong, bare in self.names:
            spans = doc.find(strong)
            if spans:
                out.append(self.finding(doc, min(spans), view=self.view, name=name))
                continue
            for span in sorted(doc.find(bare)):
                hashtag = span[0] > 0 and folded[span[0] - 1] == "#"
                if hashtag or self._hidden(doc, span):
                    ok = True
                else:
                    lo, hi = span[0] - self.window, span[1] + self.window

                    def near(group: Any, lo: int = lo, hi: int = hi) -> bool:
                        """Whether the group matches within the window around the name."""
                        return any(s[1] >= lo and s[0] <= hi for s in doc.find(group))

                    # "internally it's Heron 🪶": a word only the project can mean outweighs a
                    # bird word or a feather emoji beside it
                    ok = near(self.strong_context) or (
                        near(self.project_context) and not near(self.innocent_context)
                    )
                if ok:
                    out.append(
                        self.finding(
                            doc, span, view=self.view, message=self.bare_message, name=name
                        )
                    )
                    break
        return out[: self.max_findings]
