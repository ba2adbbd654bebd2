"""The catalogue product a mention is about, by the names customers use.

Customers rarely write a full catalogue name: "my Aerie Mids", "team Ridgeback", "las botas
Chelsea", "切尔西靴". ``hub/catalog.json`` gives each product its aliases (a trailing ``*`` is a
prefix, so "ridgeback*" also reads "Ridgebacks") and, for a base model, the words that make it a
variant ("wide" next to "Cirrus" is the Cirrus Runner Wide). One Aho-Corasick automaton
(pyahocorasick) finds every alias in one pass; Latin aliases must sit on word boundaries, CJK ones
are substrings. The longest alias wins, then the earliest. Words of seven letters or more that no
alias matched get one fuzzy try (rapidfuzz) against the one-word aliases, for typos like
"Ridgback".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from rapidfuzz import fuzz, process

from hub.engagement.wordlists import WordList, is_cjk

_WORD = re.compile(r"[^\W\d_]{7,}")
_FUZZY_CUTOFF = 90
#: words whose fuzzy match a catalogue remembers at most (then it starts again)
_NEAR_LIMIT = 50_000


@dataclass(frozen=True)
class Product:
    """A catalogue product, as the sidebar and the rules need it."""

    sku: str
    name: str
    category: str
    price_usd: float
    in_stock: bool
    url: str
    alternatives: tuple[dict[str, str], ...]


class Catalogue:
    """The products and a matcher over their aliases."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.products: dict[str, Product] = {}
        self._variants: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
        aliases: list[tuple[str, str]] = []
        self._heads: dict[str, str] = {}
        for p in data["products"]:
            self.products[p["sku"]] = Product(
                p["sku"],
                p["name"],
                p["category"],
                float(p["price_usd"]),
                bool(p["in_stock"]),
                p["url"],
                tuple(p.get("alternatives") or ()),
            )
            self._variants[p["sku"]] = [
                (v["sku"], tuple(w.casefold() for w in v["words"])) for v in p.get("variants", ())
            ]
            for alias in [p["name"], *p["aliases"]]:
                aliases.append((alias, p["sku"]))
                word = alias.casefold().rstrip("*")
                if " " not in word and not is_cjk(word) and len(word) >= 5:
                    self._heads.setdefault(word, p["sku"])
        self._aliases = WordList(aliases)
        self._near: dict[str, str | None] = {}

    def find(self, text: str) -> Product | None:
        """The product ``text`` is mainly about, or None."""
        folded = text.casefold()
        best: tuple[int, int, str] | None = None  # (-length, start, sku)
        covered: list[tuple[int, int]] = []
        for start, alias, skus in self._aliases.find(folded):
            covered.append((start, start + len(alias) - 1))
            key = (-len(alias), start, skus[-1])  # an alias listed twice: the later product
            if best is None or key < best:
                best = key
        sku = best[2] if best else self._fuzzy(folded, covered)
        if sku is None:
            return None
        for variant, words in self._variants.get(sku, ()):
            if any(_has_word(folded, w) for w in words):
                sku = variant
                break
        return self.products[sku]

    def find_all(self, text: str) -> list[Product]:
        """Every product ``text`` names, in the order named; an alias inside a longer one
        ("cirrus" in "cirrus wide") counts once, as the longer one. No alias: the fuzzy try."""
        folded = text.casefold()
        hits = sorted(
            (start, -len(alias), skus[-1]) for start, alias, skus in self._aliases.find(folded)
        )
        skus: list[str] = []
        end = -1
        for start, minus_len, sku in hits:
            if start <= end:
                continue
            end = start - minus_len - 1
            for variant, words in self._variants.get(sku, ()):
                if any(_has_word(folded, w) for w in words):
                    sku = variant
                    break
            if sku not in skus:
                skus.append(sku)
        if not skus:
            found = self.find(text)
            return [found] if found else []
        return [self.products[s] for s in skus]

    def _fuzzy(self, folded: str, covered: list[tuple[int, int]]) -> str | None:
        for m in _WORD.finditer(folded):
            if any(s <= m.start() <= e for s, e in covered):
                continue
            sku = self._misspelt(m.group())
            if sku is not None:
                return sku
        return None

    def _misspelt(self, word: str) -> str | None:
        """The product whose one-word alias ``word`` is a typo of, or None. Remembered: mentions
        use few long words and the same ones again ("kestrelfootwear" in nearly every one)."""
        if word in self._near:
            return self._near[word]
        found = process.extractOne(
            word[:-1] if word.endswith("s") else word,
            self._heads.keys(),
            scorer=fuzz.ratio,
            score_cutoff=_FUZZY_CUTOFF,
        )
        if len(self._near) >= _NEAR_LIMIT:
            self._near.clear()
        sku = self._near[word] = self._heads[found[0]] if found is not None else None
        return sku


def _has_word(folded: str, word: str) -> bool:
    if is_cjk(word):
        return word in folded
    return re.search(r"(?<!\w)" + re.escape(word) + r"(?!\w)", folded) is not None


@lru_cache(maxsize=1)
def catalogue() -> Catalogue:
    """The shipped catalogue (the demo company's)."""
    return Catalogue(json.loads(resources.files("hub").joinpath("catalog.json").read_text("utf-8")))
