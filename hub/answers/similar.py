"""Similar past answers: the replies we sent to the mentions most like this one.

Earlier mentions with a sent reply are ranked by the similarity of their text to this mention's,
by each database's own full-text search (migration 0012 builds the indexes):

- SQLite: BM25 (``bm25()``) over an FTS5 table with the unicode61 tokenizer (diacritics
  folded), each query word a term, OR-ed. It beat the trigram tokenizer on English and Spanish
  (trigrams also match inside longer words, which added more noise than recall). Chinese is the
  exception: unicode61 keeps a whole run of Chinese as one token, and trigram cannot match the
  two-character words Chinese mostly has (measured: 1.0 neighbour found per Chinese query with
  3-character windows, precision@3 0.08, below random). A query with Chinese
  in it is ranked instead by how many of its character pairs (and words) each same-language
  answered mention contains (``LIKE``), a scan of that language's answered mentions only.
- PostgreSQL: ``ts_rank_cd`` over the stored ``hub_search_vector(text)`` ('simple'
  configuration, CJK characters spaced out), GIN-indexed; Chinese is matched by adjacent pairs
  (``a <-> b``).

Both drop @handles, links and a short list of function words (they would match most mentions);
BM25's idf takes care of the rest. Measured against a random and a LIKE-overlap baseline by
bench/eval_similar_answers.py (see the README).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy import text as sql
from sqlalchemy.orm import Session

from hub.models import Mention, OutboundItem, OutboundState

#: how many past answers the composer shows
SHOWN = 3
#: query words kept (the first ones; a mention is at most ~300 characters anyway)
MAX_TERMS = 40
_HANDLE_OR_LINK = re.compile(r"[@#]\w[\w.\-]*|https?://\S+", re.UNICODE)
_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
#: function words in the company's Latin-script languages (the query would match them in most
#: mentions; Chinese needs none: single characters never become a query term)
STOPWORDS = frozenset(
    [
        "the",
        "and",
        "for",
        "you",
        "your",
        "with",
        "this",
        "that",
        "are",
        "was",
        "but",
        "not",
        "have",
        "has",
        "had",
        "what",
        "when",
        "can",
        "they",
        "them",
        "our",
        "out",
        "all",
        "any",
        "just",
        "get",
        "got",
        "its",
        "it's",
        "from",
        "will",
        "would",
        "there",
        "their",
        "been",
        "one",
        "too",
        "very",
        "how",
        "who",
        "why",
        "que",
        "por",
        "los",
        "las",
        "del",
        "una",
        "con",
        "para",
        "mis",
        "este",
        "esta",
        "pero",
        "muy",
        "como",
        "sus",
        "hay",
        "ese",
        "eso",
        "estoy",
        "está",
        "son",
        "fue",
        "sin",
        "más",
        "mas",
    ]
)


@dataclass(frozen=True)
class Terms:
    """A mention's search terms: Latin-script words, and Chinese runs."""

    words: tuple[str, ...]
    cjk: tuple[str, ...]

    def fts5(self) -> str:
        """The FTS5 MATCH expression (unicode61 tokenizer), or "" when nothing is searchable."""
        # the terms are letters and digits only, so quoting each as a phrase is safe
        return " OR ".join(f'"{w}"' for w in self.words)

    def tsquery(self) -> str:
        """The PostgreSQL tsquery text ('simple' configuration), or ""."""
        parts = [f"'{w}'" for w in self.words]
        for run in self.cjk:
            parts.extend(f"'{run[i]}' <-> '{run[i + 1]}'" for i in range(len(run) - 1))
        return " | ".join(dict.fromkeys(parts))


def search_terms(text: str) -> Terms:
    """The words of ``text`` worth searching for (no handles, links or function words)."""
    text = _HANDLE_OR_LINK.sub(" ", text.casefold())
    cjk = tuple(_CJK_RUN.findall(text))
    rest = _CJK_RUN.sub(" ", text)
    words = [w for w in _WORD.findall(rest) if len(w) >= 2 and w not in STOPWORDS]
    return Terms(tuple(dict.fromkeys(words))[:MAX_TERMS], cjk)


@dataclass(frozen=True)
class PastAnswer:
    """A reply we sent, and the mention it answered."""

    mention: Mention
    reply: OutboundItem
    score: float


# CROSS JOIN: SQLite keeps the join order, so the full-text match drives (with planner
# statistics it otherwise may start from mentions: 4x slower, measured)
_SQLITE = """
SELECT s.rowid AS id, bm25(mention_search) AS score
FROM mention_search AS s CROSS JOIN mentions AS m ON m.id = s.rowid
WHERE mention_search MATCH :q AND s.rowid != :self {language}
  AND EXISTS (SELECT 1 FROM outbound_items AS o
              WHERE o.mention_id = s.rowid AND o.kind = 'reply' AND o.state = :sent)
ORDER BY score, s.rowid DESC LIMIT :n
"""
# bm25() is lower for better matches; ts_rank_cd higher: both ordered best first
_POSTGRESQL = """
SELECT m.id AS id, -ts_rank_cd(s.vector, q, 1) AS score
FROM to_tsquery('simple', :q) AS q
  JOIN mention_search AS s ON s.vector @@ q
  JOIN mentions AS m ON m.id = s.mention_id
WHERE m.id != :self {language}
  AND EXISTS (SELECT 1 FROM outbound_items AS o
              WHERE o.mention_id = m.id AND o.kind = 'reply' AND o.state = :sent)
ORDER BY score, m.id DESC LIMIT :n
"""


_SQLITE_PAIRS = """
SELECT m.id AS id, -({hits}) AS score
FROM mentions AS m
WHERE m.id != :self {language}
  AND EXISTS (SELECT 1 FROM outbound_items AS o
              WHERE o.mention_id = m.id AND o.kind = 'reply' AND o.state = :sent)
  AND ({hits}) > 0
ORDER BY score, m.id DESC LIMIT :n
"""


def _pair_statement(terms: Terms) -> tuple[str, dict[str, str]]:
    """The SQLite statement ranking by shared Chinese character pairs and words, its params."""
    pieces = [run[i : i + 2] for run in terms.cjk for i in range(len(run) - 1)]
    pieces += [w for w in terms.words if len(w) >= 3]
    pieces = list(dict.fromkeys(pieces))[:MAX_TERMS]
    hits = " + ".join(
        f"(CASE WHEN lower(m.text) LIKE :p{i} THEN 1 ELSE 0 END)" for i in range(len(pieces))
    )
    # the pieces are letters and digits only: no LIKE wildcard can hide in them
    return _SQLITE_PAIRS.replace("{hits}", hits), {f"p{i}": f"%{p}%" for i, p in enumerate(pieces)}


def rank_mentions(
    session: Session, text: str, *, exclude_id: int, language: str | None, limit: int
) -> list[tuple[int, float]]:
    """Answered mentions most like ``text`` (best first) as (mention id, score), same
    language when known, ``exclude_id`` left out."""
    terms = search_terms(text)
    dialect = session.get_bind().dialect.name
    extra: dict[str, str] = {}
    if dialect == "sqlite" and terms.cjk:
        statement, extra = _pair_statement(terms)
        query = "pairs" if extra else ""
    elif dialect == "sqlite":
        query, statement = terms.fts5(), _SQLITE
    elif dialect == "postgresql":
        query, statement = terms.tsquery(), _POSTGRESQL
    else:  # pragma: no cover - the hub runs on SQLite and PostgreSQL only
        return []
    if not query:
        return []
    where_language = "AND m.language = :language" if language else ""
    rows = session.execute(
        sql(statement.format(language=where_language)),
        {
            "q": query,
            "self": exclude_id,
            "language": language,
            "n": limit,
            "sent": OutboundState.SENT.value,
        }
        | extra,
    )
    return [(int(row.id), float(row.score)) for row in rows]


def similar_answers(session: Session, mention: Mention, k: int = SHOWN) -> list[PastAnswer]:
    """The replies we sent to the ``k`` answered mentions most like ``mention`` (one per
    mention, the latest; the same reply text once)."""
    ranked = rank_mentions(
        session, mention.text, exclude_id=mention.id, language=mention.language, limit=k * 4
    )
    if not ranked:
        return []
    ids = [mention_id for mention_id, _ in ranked]
    found: dict[int, tuple[Mention, OutboundItem]] = {}
    for mention, item in session.execute(
        select(Mention, OutboundItem)
        .join(OutboundItem, OutboundItem.mention_id == Mention.id)
        .where(
            Mention.id.in_(ids),
            OutboundItem.kind == "reply",
            OutboundItem.state == OutboundState.SENT,
        )
        .order_by(OutboundItem.sent_at, OutboundItem.id)
    ).all():
        found[mention.id] = (mention, item)  # the latest reply wins
    answers: list[PastAnswer] = []
    seen: set[str] = set()
    for mention_id, score in ranked:
        if mention_id not in found or found[mention_id][1].text.strip() in seen:
            continue
        past, reply = found[mention_id]
        seen.add(reply.text.strip())
        answers.append(PastAnswer(past, reply, score))
        if len(answers) == k:
            break
    return answers
