"""The project store: one SQLite file (WAL) for tags, cleaning recipes and model scores.

Nothing a researcher writes is lost: tags are an append-only history (the current tag is the
latest row), every write is one committed transaction with ``synchronous=FULL``, and concurrent
writers wait on SQLite's lock instead of failing.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from ..errors import WorkbenchDataError

SCHEMA_VERSION = 1

#: Tag schemes with a fixed vocabulary (M1.1, M5.1, M4). Other scheme names accept any text.
SCHEMES: dict[str, tuple[str, ...]] = {
    "subjectivity": ("manifest", "latent_pattern", "latent_projective"),
    "plurality": ("single_correct", "multiple_correct"),
    "distinguishability": ("distinguishable", "indistinguishable"),
    "unreliability_source": (
        "mislabeling", "subjective_preference", "evaluation_criteria", "quality_threshold",
        "both_harmful", "both_misinformation",
    ),
}

_DDL = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tags (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id TEXT NOT NULL, scheme TEXT NOT NULL, value TEXT NOT NULL,
    note TEXT, tagger TEXT NOT NULL, time TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tags_item_scheme ON tags (item_id, scheme, id);
CREATE TABLE IF NOT EXISTS recipes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL, recipe TEXT NOT NULL, author TEXT, time TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS scores (
    model TEXT NOT NULL, item_id TEXT NOT NULL, score_a REAL, score_b REAL, time TEXT NOT NULL,
    PRIMARY KEY (model, item_id)
);
"""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _text(value, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise WorkbenchDataError(f"{name} must be a non-empty string, got {value!r}")
    return value


class Store:
    """A project's durable state in one SQLite file.

    Examples
    --------
    >>> import tempfile, pathlib, workbench
    >>> store = workbench.Store(pathlib.Path(tempfile.mkdtemp()) / "project.sqlite")
    >>> store.add_tag("item-1", "subjectivity", "latent_projective", tagger="ana")
    1
    >>> store.add_tag("item-1", "subjectivity", "manifest", tagger="ben", note="on second reading")
    2
    >>> store.current_tags()[["item_id", "scheme", "value", "tagger"]]
      item_id        scheme     value tagger
    0  item-1  subjectivity  manifest    ben
    >>> len(store.tag_history())
    2
    """

    def __init__(self, path, *, timeout: float = 60.0):
        self.path = Path(path)
        if self.path.exists() and self.path.is_dir():
            raise WorkbenchDataError(f"store path {str(self.path)!r} is a directory; give a file name such as project.sqlite")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.timeout = timeout
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            with self._write(conn):
                # one statement at a time: executescript() would COMMIT and end our BEGIN IMMEDIATE early
                for statement in _DDL.strip().split(";"):
                    if statement.strip():
                        conn.execute(statement)
                found = conn.execute("SELECT version FROM schema_version").fetchall()
                if not found:
                    conn.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
                elif found[0][0] > SCHEMA_VERSION:
                    raise WorkbenchDataError(
                        f"store {str(self.path)!r} has schema version {found[0][0]}, newer than this workbench ({SCHEMA_VERSION})"
                    )

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    # A fresh connection per operation: safe across threads (Panel sessions) and processes.
    @contextmanager
    def _connect(self):
        try:
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        except sqlite3.DatabaseError as err:
            raise WorkbenchDataError(f"cannot open store {str(self.path)!r}: {err}") from None
        try:
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
            yield conn
        except sqlite3.DatabaseError as err:
            raise WorkbenchDataError(f"store {str(self.path)!r} is not a usable SQLite file: {err}") from None
        finally:
            conn.close()

    @contextmanager
    def _write(self, conn):
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    # ------------------------------------------------------------------ tags
    def add_tag(self, item_id, scheme: str, value: str, tagger: str, note: str | None = None) -> int:
        """Append one tag (never overwrites); return its row id. Known schemes check their vocabulary."""
        item_id = _text(str(item_id) if item_id is not None else None, "item_id")
        _text(scheme, "scheme")
        _text(value, "value")
        _text(tagger, "tagger")
        if note is not None and not isinstance(note, str):
            raise WorkbenchDataError(f"note must be text or None, got {type(note).__name__}")
        allowed = SCHEMES.get(scheme)
        if allowed is not None and value not in allowed:
            raise WorkbenchDataError(f"value {value!r} is not in scheme {scheme!r}; choose one of {', '.join(allowed)}")
        with self._connect() as conn, self._write(conn):
            cursor = conn.execute(
                "INSERT INTO tags (item_id, scheme, value, note, tagger, time) VALUES (?, ?, ?, ?, ?, ?)",
                (item_id, scheme, value, note, tagger, _now()),
            )
            return int(cursor.lastrowid)

    def tag_history(self, item_id=None) -> pd.DataFrame:
        """Every tag ever written, oldest first (optionally for one item)."""
        query = "SELECT id, item_id, scheme, value, note, tagger, time FROM tags"
        params: tuple = ()
        if item_id is not None:
            query, params = query + " WHERE item_id = ?", (str(item_id),)
        with self._connect() as conn:
            return pd.read_sql_query(query + " ORDER BY id", conn, params=params)

    def current_tags(self) -> pd.DataFrame:
        """The latest tag per (item, scheme)."""
        query = """
            SELECT t.id, t.item_id, t.scheme, t.value, t.note, t.tagger, t.time FROM tags t
            JOIN (SELECT MAX(id) AS id FROM tags GROUP BY item_id, scheme) latest ON t.id = latest.id
            ORDER BY t.item_id, t.scheme
        """
        with self._connect() as conn:
            return pd.read_sql_query(query, conn).reset_index(drop=True)

    # ------------------------------------------------------------------ recipes
    def save_recipe(self, name: str, recipe: dict, author: str | None = None) -> int:
        """Save a named cleaning recipe (JSON); earlier versions stay in the history."""
        _text(name, "recipe name")
        try:
            text = json.dumps(recipe, sort_keys=True, allow_nan=False)
        except (TypeError, ValueError) as err:
            raise WorkbenchDataError(f"recipe {name!r} is not JSON-serialisable: {err}") from None
        with self._connect() as conn, self._write(conn):
            cursor = conn.execute(
                "INSERT INTO recipes (name, recipe, author, time) VALUES (?, ?, ?, ?)", (name, text, author, _now())
            )
            return int(cursor.lastrowid)

    def load_recipe(self, name: str) -> dict:
        """The latest version of a named recipe."""
        with self._connect() as conn:
            row = conn.execute("SELECT recipe FROM recipes WHERE name = ? ORDER BY id DESC LIMIT 1", (name,)).fetchone()
        if row is None:
            raise WorkbenchDataError(f"no recipe named {name!r} in {str(self.path)!r}; saved: {', '.join(self.recipe_names()) or 'none'}")
        return json.loads(row[0])

    def recipe_names(self) -> list[str]:
        with self._connect() as conn:
            return [r[0] for r in conn.execute("SELECT DISTINCT name FROM recipes ORDER BY name")]

    # ------------------------------------------------------------------ scores
    def save_scores(self, model: str, scores: pd.DataFrame) -> int:
        """Cache a model's pair scores (``item_id, score_a, score_b``) under its fingerprint; return rows written."""
        _text(model, "model fingerprint")
        missing = [c for c in ("item_id", "score_a", "score_b") if c not in scores.columns]
        if missing:
            raise WorkbenchDataError(f"scores need columns item_id, score_a, score_b; missing {missing[0]!r}")
        time = _now()
        rows = [(model, str(i), float(a), float(b), time) for i, a, b in scores[["item_id", "score_a", "score_b"]].itertuples(index=False)]
        with self._connect() as conn, self._write(conn):
            conn.executemany("INSERT OR REPLACE INTO scores VALUES (?, ?, ?, ?, ?)", rows)
        return len(rows)

    def load_scores(self, model: str | None = None) -> pd.DataFrame:
        query, params = "SELECT model, item_id, score_a, score_b, time FROM scores", ()
        if model is not None:
            query, params = query + " WHERE model = ?", (model,)
        with self._connect() as conn:
            return pd.read_sql_query(query + " ORDER BY model, item_id", conn, params=params)
