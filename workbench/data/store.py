"""The project store: one SQLite file (WAL) for tag schemes, tags, cleaning recipes and model scores.

Nothing a researcher writes is lost: tags are an append-only history (adding a value and removing
one are both new rows; the current tag is the latest), every write is one committed transaction
with ``synchronous=FULL``, and concurrent writers wait on SQLite's lock instead of failing.
Schemes are registered in the store, so a project's taxonomy travels with its tags.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from ..errors import WorkbenchDataError, describe_rows
from .schemes import BUILTIN_SCHEMES, Scheme, load_scheme

#: Version 2 added registered schemes and the ``action`` of a tag row (add / remove).
#: Version 3 (model scoring): ``scores.fingerprint`` records the checkpoint behind a model's scores;
#: ``text_scores`` caches one score per (model fingerprint, text hash, output).
SCHEMA_VERSION = 3

#: The built-in tag schemes, registered in every store.
SCHEMES: dict[str, Scheme] = BUILTIN_SCHEMES

ACTIONS = ("add", "remove")
#: Columns of an exported tag file (``action`` is optional on import: ``add`` when absent).
TAG_FILE_COLUMNS = ("item_id", "scheme", "value", "tagger", "time", "note", "action")
_HISTORY = "SELECT id, item_id, scheme, value, action, note, tagger, time FROM tags"

_DDL = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tags (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id TEXT NOT NULL, scheme TEXT NOT NULL, value TEXT NOT NULL,
    note TEXT, tagger TEXT NOT NULL, time TEXT NOT NULL, action TEXT NOT NULL DEFAULT 'add'
);
CREATE INDEX IF NOT EXISTS tags_item_scheme ON tags (item_id, scheme, id);
CREATE TABLE IF NOT EXISTS schemes (
    id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, definition TEXT NOT NULL, time TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS recipes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL, recipe TEXT NOT NULL, author TEXT, time TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS scores (
    model TEXT NOT NULL, item_id TEXT NOT NULL, score_a REAL, score_b REAL, time TEXT NOT NULL,
    fingerprint TEXT,
    PRIMARY KEY (model, item_id)
);
CREATE TABLE IF NOT EXISTS text_scores (
    model TEXT NOT NULL, text_hash TEXT NOT NULL, output INTEGER NOT NULL, score REAL NOT NULL, time TEXT NOT NULL,
    PRIMARY KEY (model, text_hash, output)
);
"""


def _migrate_scores(conn) -> None:
    """Version 3: ``scores`` gains ``fingerprint`` (``text_scores`` exists already from the DDL)."""
    columns = [row[1] for row in conn.execute("PRAGMA table_info(scores)")]
    if "fingerprint" not in columns:
        conn.execute("ALTER TABLE scores ADD COLUMN fingerprint TEXT")
    conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _text(value, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise WorkbenchDataError(f"{name} must be a non-empty string, got {value!r}")
    return value


def live_tags(history: pd.DataFrame, schemes: dict[str, Scheme]) -> pd.DataFrame:
    """Each tagger's current values from a tag history: the ``add`` rows still in force.

    A single-choice tag is the tagger's latest row for (item, scheme), gone if that row is a
    removal; a multi-choice value is present if the tagger's latest row for it adds it.
    ``tagger_time`` is the time of the tagger's latest row on (item, scheme), removals included.
    """
    if history.empty:
        return history.assign(tagger_time=pd.Series(dtype=object)).iloc[:0]
    ordered = history.sort_values(["time", "id"], kind="stable")
    multi = ordered["scheme"].map(lambda name: name in schemes and schemes[name].multi).astype(bool)
    slot = ordered["value"].where(multi, "")
    latest = ordered.assign(_slot=slot).drop_duplicates(["item_id", "scheme", "tagger", "_slot"], keep="last")
    last_time = ordered.groupby(["item_id", "scheme", "tagger"], sort=False)["time"].max().rename("tagger_time")
    live = latest[latest["action"] == "add"].drop(columns="_slot")
    return live.join(last_time, on=["item_id", "scheme", "tagger"]).reset_index(drop=True)


def latest_tags(live: pd.DataFrame) -> pd.DataFrame:
    """Per (item, scheme), the values of the tagger who wrote last (their whole multi-choice set)."""
    if live.empty:
        return live
    order = live.sort_values(["tagger_time", "id"], kind="stable")
    last = order.drop_duplicates(["item_id", "scheme"], keep="last")[["item_id", "scheme", "tagger"]]
    return live.merge(last, on=["item_id", "scheme", "tagger"])


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
    >>> store.add_tag("item-1", "subjectivity", "obvious", tagger="ana")
    Traceback (most recent call last):
    ...
    workbench.errors.WorkbenchDataError: value 'obvious' is not in scheme 'subjectivity'; choose one of manifest, latent_pattern, latent_projective
    """

    def __init__(self, path, *, timeout: float = 60.0):
        self.path = Path(path)
        if self.path.exists() and self.path.is_dir():
            raise WorkbenchDataError(f"store path {str(self.path)!r} is a directory; give a file name such as project.sqlite")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.timeout = timeout
        self._local, self._scheme_cache = threading.local(), (None, {})
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
                elif found[0][0] < SCHEMA_VERSION:
                    if found[0][0] == 1:
                        self._migrate_from_1(conn)
                    _migrate_scores(conn)
                known = self._schemes(conn)
                for scheme in BUILTIN_SCHEMES.values():
                    if scheme.name not in known:
                        self._insert_scheme(conn, scheme)

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    def _migrate_from_1(self, conn) -> None:
        """Version 1 had no schemes table and no ``action``: every old row is an ``add``; a scheme
        name outside the built-ins becomes a registered single-choice scheme of the values it used."""
        conn.execute("ALTER TABLE tags ADD COLUMN action TEXT NOT NULL DEFAULT 'add'")
        used = conn.execute("SELECT scheme, value FROM tags GROUP BY scheme, value ORDER BY MIN(id)").fetchall()
        inferred: dict[str, dict[str, str]] = {}
        for scheme, value in used:
            if scheme not in BUILTIN_SCHEMES:
                inferred.setdefault(scheme, {})[value] = "(in use before schemes were registered)"
        for name, values in inferred.items():
            self._insert_scheme(conn, Scheme(name, values, description="Registered from existing tags when the store was upgraded."))
        conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))

    # One connection per thread (Panel sessions run on several) and per process, opened on first use:
    # a fresh connection per call would pay a WAL checkpoint with an fsync at every close.
    @contextmanager
    def _connect(self):
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            try:
                conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
            except sqlite3.DatabaseError as err:
                raise WorkbenchDataError(f"cannot open store {str(self.path)!r}: {err}") from None
            local.conn, local.pid = conn, os.getpid()
            try:
                conn.execute("PRAGMA synchronous=FULL")
                conn.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
            except sqlite3.DatabaseError as err:
                self._forget(local)
                raise WorkbenchDataError(f"store {str(self.path)!r} is not a usable SQLite file: {err}") from None
        try:
            yield local.conn
        except sqlite3.DatabaseError as err:
            self._forget(local)
            raise WorkbenchDataError(f"store {str(self.path)!r} is not a usable SQLite file: {err}") from None

    @staticmethod
    def _forget(local) -> None:
        local.conn.close()
        del local.conn, local.pid

    def __getstate__(self):  # a copy (or another process) opens its own connections
        return {k: v for k, v in self.__dict__.items() if k not in ("_local", "_scheme_cache")}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._local, self._scheme_cache = threading.local(), (None, {})

    @contextmanager
    def _write(self, conn):
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    # ------------------------------------------------------------------ schemes
    def _schemes(self, conn) -> dict[str, Scheme]:
        latest = conn.execute("SELECT MAX(id) FROM schemes").fetchone()[0]
        cached_id, cached = self._scheme_cache
        if latest is not None and latest == cached_id:  # schemes are append-only: same last row, same schemes
            return dict(cached)
        found: dict[str, Scheme] = {}
        for name, text in conn.execute("SELECT name, definition FROM schemes ORDER BY id"):
            found[name] = Scheme.from_dict(json.loads(text), source=f"scheme {name!r} in {str(self.path)!r}")
        self._scheme_cache = (latest, found)
        return dict(found)

    def _insert_scheme(self, conn, scheme: Scheme) -> None:
        conn.execute("INSERT INTO schemes (name, definition, time) VALUES (?, ?, ?)",
                     (scheme.name, json.dumps(scheme.to_dict()), _now()))

    def schemes(self) -> dict[str, Scheme]:
        """The registered schemes by name (the built-ins first, then in the order they were added)."""
        with self._connect() as conn:
            return self._schemes(conn)

    def scheme(self, name: str) -> Scheme:
        """One registered scheme; an unknown name raises, listing the known ones."""
        with self._connect() as conn:
            return self._known(self._schemes(conn), name)

    @staticmethod
    def _known(schemes: dict[str, Scheme], name) -> Scheme:
        if name not in schemes:
            raise WorkbenchDataError(
                f"scheme {name!r} is not registered in this store; known: {', '.join(schemes)} (add it with store.add_scheme)"
            )
        return schemes[name]

    def add_scheme(self, scheme, *, replace: bool = False) -> Scheme:
        """Register a scheme (a :class:`Scheme`, a dict or a YAML/JSON path); return it.

        Registering the same definition again changes nothing. A different definition under a known
        name needs ``replace=True``, and may not drop a value that tags use or change ``multi``
        once tags exist.

        >>> import tempfile, pathlib, workbench
        >>> store = workbench.Store(pathlib.Path(tempfile.mkdtemp()) / "p.sqlite")
        >>> store.add_scheme({"name": "harm", "values": {"none": "No harm.", "some": "Could hurt someone."}}).name
        'harm'
        >>> list(store.schemes())
        ['subjectivity', 'plurality', 'distinguishability', 'unreliability_source', 'harm']
        """
        scheme = load_scheme(scheme)
        with self._connect() as conn, self._write(conn):
            old = self._schemes(conn).get(scheme.name)
            if old == scheme:
                return old
            if old is not None:
                if not replace:
                    raise WorkbenchDataError(
                        f"scheme {scheme.name!r} is already registered with a different definition; "
                        "pass replace=True to change it, or give the new one another name"
                    )
                used = [v for (v,) in conn.execute("SELECT DISTINCT value FROM tags WHERE scheme = ? ORDER BY value", (scheme.name,))]
                dropped = [v for v in used if v not in scheme.values]
                if dropped:
                    raise WorkbenchDataError(f"scheme {scheme.name!r}: value {dropped[0]!r} is used by tags and cannot be dropped")
                if used and old.multi != scheme.multi:
                    raise WorkbenchDataError(f"scheme {scheme.name!r} has tags: 'multi' cannot change from {old.multi} to {scheme.multi}")
            self._insert_scheme(conn, scheme)
        return scheme

    # ------------------------------------------------------------------ tags
    @staticmethod
    def _check_tag(schemes, scheme_name, value, note) -> Scheme:
        scheme = Store._known(schemes, scheme_name)
        if value not in scheme.values:
            raise WorkbenchDataError(f"value {value!r} is not in scheme {scheme.name!r}; choose one of {', '.join(scheme.values)}")
        if scheme.note == "required" and not (note and note.strip()):
            raise WorkbenchDataError(f"scheme {scheme.name!r} requires a note with every tag")
        return scheme

    @staticmethod
    def _fields(item_id, scheme, value, tagger, note) -> tuple:
        item_id = _text(str(item_id) if item_id is not None else None, "item_id")
        _text(scheme, "scheme")
        _text(value, "value")
        _text(tagger, "tagger")
        if note is not None and not isinstance(note, str):
            raise WorkbenchDataError(f"note must be text or None, got {type(note).__name__}")
        return item_id, scheme, value, tagger, note

    @staticmethod
    def _insert(conn, item_id, scheme, value, tagger, note, action, time=None) -> int:
        cursor = conn.execute(
            "INSERT INTO tags (item_id, scheme, value, note, tagger, time, action) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (item_id, scheme, value, note, tagger, time or _now(), action),
        )
        return int(cursor.lastrowid)

    def add_tag(self, item_id, scheme: str, value: str, tagger: str, note: str | None = None) -> int:
        """Append one tag row (never overwrites); return its row id.

        The scheme must be registered and have ``value``. For a single-choice scheme the tagger's
        tag becomes ``value``; for a multi-choice scheme ``value`` joins the tagger's values.
        """
        fields = self._fields(item_id, scheme, value, tagger, note)
        with self._connect() as conn, self._write(conn):
            self._check_tag(self._schemes(conn), scheme, value, note)
            return self._insert(conn, *fields, "add")

    def remove_tag(self, item_id, scheme: str, value: str, tagger: str, note: str | None = None) -> int:
        """Withdraw one of the tagger's values (a new history row, never a delete); return its row id.

        >>> import tempfile, pathlib, workbench
        >>> store = workbench.Store(pathlib.Path(tempfile.mkdtemp()) / "p.sqlite")
        >>> for source in ("mislabeling", "both_harmful"):
        ...     _ = store.add_tag("i1", "unreliability_source", source, tagger="ana")
        >>> store.remove_tag("i1", "unreliability_source", "mislabeling", tagger="ana")
        3
        >>> store.current_tags()["value"].tolist(), len(store.tag_history())
        (['both_harmful'], 3)
        """
        item_id, scheme, value, tagger, note = self._fields(item_id, scheme, value, tagger, note)
        with self._connect() as conn, self._write(conn):
            schemes = self._schemes(conn)
            self._known(schemes, scheme)
            held = self._tagger_values(conn, schemes, item_id, scheme, tagger)
            if value not in held:
                raise WorkbenchDataError(
                    f"{tagger!r} has no {value!r} tag on item {item_id!r} in scheme {scheme!r} (current: {', '.join(held) or 'none'}); nothing written"
                )
            return self._insert(conn, item_id, scheme, value, tagger, note, "remove")

    def undo_tag(self, item_id, scheme: str, tagger: str) -> int | None:
        """Reverse the tagger's latest change on an item with new rows; return the last row id (``None``: nothing to undo).

        Undoing twice restores the change.

        >>> import tempfile, pathlib, workbench
        >>> store = workbench.Store(pathlib.Path(tempfile.mkdtemp()) / "p.sqlite")
        >>> _ = store.add_tag("i1", "subjectivity", "manifest", tagger="ana")
        >>> _ = store.add_tag("i1", "subjectivity", "latent_pattern", tagger="ana")
        >>> _ = store.undo_tag("i1", "subjectivity", tagger="ana")
        >>> store.current_tags()["value"].tolist(), len(store.tag_history())
        (['manifest'], 3)
        """
        item_id = _text(str(item_id) if item_id is not None else None, "item_id")
        _text(tagger, "tagger")
        with self._connect() as conn, self._write(conn):
            schemes = self._schemes(conn)
            self._known(schemes, scheme)
            rows = self._tagger_rows(conn, item_id, scheme, tagger)
            if rows.empty:
                return None
            now = set(live_tags(rows, schemes)["value"])
            before = set(live_tags(rows.iloc[:-1], schemes)["value"])
            removed, added = sorted(now - before), sorted(before - now)
            if not schemes[scheme].multi and added:
                removed = []  # a single-choice add replaces the tagger's value by itself
            row = None
            for value in removed:
                row = self._insert(conn, item_id, scheme, value, tagger, "undo", "remove")
            for value in added:
                row = self._insert(conn, item_id, scheme, value, tagger, "undo", "add")
            return row

    @staticmethod
    def _tagger_rows(conn, item_id, scheme, tagger) -> pd.DataFrame:
        return pd.read_sql_query(
            _HISTORY + " WHERE item_id = ? AND scheme = ? AND tagger = ? ORDER BY time, id", conn, params=(item_id, scheme, tagger)
        )

    def _tagger_values(self, conn, schemes, item_id, scheme, tagger) -> list[str]:
        return live_tags(self._tagger_rows(conn, item_id, scheme, tagger), schemes)["value"].tolist()

    def tag_history(self, item_id=None, *, scheme: str | None = None) -> pd.DataFrame:
        """Every tag row ever written, in write order (optionally for one item and/or scheme)."""
        conditions, params = [], []
        if item_id is not None:
            conditions.append("item_id = ?")
            params.append(str(item_id))
        if scheme is not None:
            conditions.append("scheme = ?")
            params.append(scheme)
        where = " WHERE " + " AND ".join(conditions) if conditions else ""
        with self._connect() as conn:
            return pd.read_sql_query(_HISTORY + where + " ORDER BY id", conn, params=tuple(params))

    def current_tags(self, scheme: str | None = None, *, item_id=None, per_tagger: bool = False) -> pd.DataFrame:
        """The tags in force: one row per (item, scheme, value).

        By default the latest tagger's values on each (item, scheme); ``per_tagger=True`` gives every
        tagger's own values instead (one row per item, scheme, tagger and value).
        """
        history = self.tag_history(item_id, scheme=scheme)
        live = live_tags(history, self.schemes())
        chosen = live if per_tagger else latest_tags(live)
        keys = ["item_id", "scheme"] + (["tagger"] if per_tagger else []) + ["id"]
        columns = ["id", "item_id", "scheme", "value", "note", "tagger", "time"]
        return chosen.sort_values(keys, kind="stable")[columns].reset_index(drop=True)

    # ------------------------------------------------------------------ export / import
    def export_tags(self, path) -> Path:
        """Write the whole tag history to CSV or Parquet (by suffix), atomically; return the path."""
        path = Path(path)
        kind = _file_kind(path)
        table = self.tag_history()[list(TAG_FILE_COLUMNS)]
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(handle)
        try:
            if kind == "csv":
                table.to_csv(temporary, index=False)
            else:
                table.to_parquet(temporary, index=False)
            os.replace(temporary, path)
        finally:
            if os.path.exists(temporary):
                os.remove(temporary)
        return path

    def import_tags(self, path, *, items=None) -> int:
        """Append the tag rows of a CSV or Parquet file (``item_id, scheme, value, tagger, time, note``
        and optionally ``action``); return how many were new.

        Rows already in the store (same item, scheme, value, tagger, time and action) are skipped, so
        importing a file twice adds nothing the second time. ``items`` (a Ratings or item ids) refuses
        items outside the study. Any bad row refuses the whole file, naming the rows; nothing is written.
        """
        table = _read_tag_file(Path(path))
        known_items = None
        if items is not None:
            from .ratings import Ratings

            known_items = set(items.items.index if isinstance(items, Ratings) else pd.Index(items).astype(str))
        with self._connect() as conn, self._write(conn):
            _check_tag_rows(table, self._schemes(conn), known_items, str(path))
            existing = pd.read_sql_query("SELECT item_id, scheme, value, tagger, time, action FROM tags", conn)
            key = ["item_id", "scheme", "value", "tagger", "time", "action"]
            fresh = table.drop_duplicates(key).merge(existing.drop_duplicates(key), on=key, how="left", indicator=True)
            fresh = fresh[fresh["_merge"] == "left_only"].sort_values("time", kind="stable")
            conn.executemany(
                "INSERT INTO tags (item_id, scheme, value, note, tagger, time, action) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(r.item_id, r.scheme, r.value, r.note, r.tagger, r.time, r.action) for r in fresh.itertuples(index=False)],
            )
            return len(fresh)

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
    def save_scores(self, model: str, scores: pd.DataFrame, fingerprint: str | None = None) -> int:
        """Save a model's pair scores (``item_id, score_a, score_b``) under its name; return rows written.

        ``fingerprint`` records which checkpoint produced them (see :func:`workbench.score_pairs`).
        """
        _text(model, "model name")
        missing = [c for c in ("item_id", "score_a", "score_b") if c not in scores.columns]
        if missing:
            raise WorkbenchDataError(f"scores need columns item_id, score_a, score_b; missing {missing[0]!r}")
        time = _now()
        rows = [(model, str(i), float(a), float(b), time, fingerprint)
                for i, a, b in scores[["item_id", "score_a", "score_b"]].itertuples(index=False)]
        with self._connect() as conn, self._write(conn):
            conn.executemany(
                "INSERT OR REPLACE INTO scores (model, item_id, score_a, score_b, time, fingerprint) VALUES (?, ?, ?, ?, ?, ?)", rows
            )
        return len(rows)

    def load_scores(self, model: str | None = None) -> pd.DataFrame:
        query, params = "SELECT model, item_id, score_a, score_b, time, fingerprint FROM scores", ()
        if model is not None:
            query, params = query + " WHERE model = ?", (model,)
        with self._connect() as conn:
            return pd.read_sql_query(query + " ORDER BY model, item_id", conn, params=params)

    def cached_text_scores(self, model: str, text_hashes) -> dict[str, list[float]]:
        """The cached scores (one per output) of the given texts under a model key; misses are absent."""
        _text(model, "model key")
        wanted = list(dict.fromkeys(text_hashes))
        found: dict[str, dict[int, float]] = {}
        with self._connect() as conn:
            for start in range(0, len(wanted), 500):  # stay under SQLite's bound-parameter limit
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                query = f"SELECT text_hash, output, score FROM text_scores WHERE model = ? AND text_hash IN ({marks})"
                for text_hash, output, score in conn.execute(query, (model, *chunk)):
                    found.setdefault(text_hash, {})[output] = score
        return {h: [outputs[k] for k in sorted(outputs)] for h, outputs in found.items()}

    def save_text_scores(self, model: str, text_hashes, scores) -> int:
        """Cache scores (texts × outputs) under a model key; return the number of texts written."""
        _text(model, "model key")
        time = _now()
        rows = [(model, h, k, float(v), time) for h, row in zip(text_hashes, scores) for k, v in enumerate(row)]
        with self._connect() as conn, self._write(conn):
            conn.executemany("INSERT OR REPLACE INTO text_scores VALUES (?, ?, ?, ?, ?)", rows)
        return len(rows) // max(len(scores[0]), 1) if len(rows) else 0


def _file_kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    raise WorkbenchDataError(f"tag file {str(path)!r}: expected a .csv or .parquet file")


def _read_tag_file(path: Path) -> pd.DataFrame:
    kind = _file_kind(path)
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False) if kind == "csv" else pd.read_parquet(path)
    except FileNotFoundError:
        raise WorkbenchDataError(f"tag file {str(path)!r} does not exist") from None
    except (OSError, ValueError) as err:
        raise WorkbenchDataError(f"tag file {str(path)!r} cannot be read as {kind}: {err}") from None
    missing = [c for c in TAG_FILE_COLUMNS[:5] if c not in table.columns]
    if missing:
        raise WorkbenchDataError(f"tag file {str(path)!r} lacks column {missing[0]!r}; expected {', '.join(TAG_FILE_COLUMNS)}")
    table = table.reset_index(drop=True)
    out = pd.DataFrame(index=table.index)
    for column in ("item_id", "scheme", "value", "tagger"):
        out[column] = table[column].astype(object).where(table[column].notna(), "").map(str).str.strip()
    note = table["note"] if "note" in table.columns else pd.Series(None, index=table.index, dtype=object)
    out["note"] = note.astype(object).where(note.notna() & (note.astype(str) != ""), None)
    action = table["action"].astype(object).where(table["action"].notna(), "") if "action" in table.columns else "add"
    out["action"] = pd.Series(action, index=table.index).replace("", "add")
    times = pd.to_datetime(table["time"], utc=True, format="ISO8601", errors="coerce")
    out["time"] = times.dt.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00").where(times.notna(), None)
    return out


def _check_tag_rows(table: pd.DataFrame, schemes: dict[str, Scheme], items: set | None, source: str) -> None:
    """Refuse the whole file at the first kind of fault, naming its rows (0-based data rows)."""
    def refuse(mask, what):
        if mask.any():
            raise WorkbenchDataError(f"tag file {source!r}: {what} at {describe_rows(table.index[mask])}; nothing imported")

    for column in ("item_id", "scheme", "value", "tagger"):
        refuse(table[column] == "", f"empty {column}")
    refuse(table["time"].isna(), "a time that is not an ISO date-time")
    refuse(~table["action"].isin(ACTIONS), f"an action other than {' / '.join(ACTIONS)}")
    unknown = ~table["scheme"].isin(list(schemes))
    if unknown.any():
        refuse(unknown, f"unknown scheme {table.loc[unknown, 'scheme'].iloc[0]!r} (registered: {', '.join(schemes)})")
    allowed = table["scheme"].map(lambda name: tuple(schemes[name].values))
    bad_value = pd.Series([v not in ok for v, ok in zip(table["value"], allowed)], index=table.index)
    if bad_value.any():
        first = table[bad_value].iloc[0]
        refuse(bad_value, f"value {first['value']!r} not in scheme {first['scheme']!r}")
    if items is not None:
        outside = ~table["item_id"].isin(items)
        if outside.any():
            refuse(outside, f"item {table.loc[outside, 'item_id'].iloc[0]!r} not in the study")
