"""Cleaning recipes: ordered, switchable rules that flip or drop ratings, with provenance (docs/METHODS.md, “Cleaning”).

A recipe never modifies its input: :meth:`Recipe.apply` returns a new :class:`Ratings` and one
provenance row per input rating saying what happened to it and which rule decided.
"""

from __future__ import annotations

import ast
import difflib
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data.ratings import Ratings
from ..errors import WorkbenchDataError
from .cleaning import _check_ratings, _preference_labels
from .reliability import reliability

#: Each rule's required parameters; every rule also takes ``enabled`` (default true).
RULES: dict[str, tuple[str, ...]] = {
    "flip": ("where",),
    "drop": ("where",),
    "drop_raters": ("where",),
    "drop_tagged": ("scheme", "values"),
    "min_ratings": ("k",),
}
ACTIONS = ("keep", "flip", "drop")
_SWAP = {"A": "B", "B": "A"}
_NODES = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd, ast.Invert,
    ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.BitAnd, ast.BitOr,
    ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn,
    ast.Name, ast.Load, ast.Constant, ast.List, ast.Tuple, ast.Attribute, ast.Call,
)
#: Column methods a ``where`` may call (evaluated by pandas, never by Python's ``eval``).
_METHODS = {"isna", "notna", "isin", "str", "contains", "startswith", "endswith", "lower", "upper"}


def parse_where(expression: str, columns) -> set[str]:
    """Check a ``where`` expression and return the column names it uses.

    Allowed: column names, constants, comparisons, ``and``/``or``/``not``, arithmetic, ``in [...]``
    and a few column methods (``isna()``, ``str.contains(...)``…). Anything else — unknown names,
    private attributes, ``@`` variables, lambdas, subscripts — raises :class:`WorkbenchDataError`.

    >>> sorted(parse_where("committee_group == 'NoAgree' and split == 'harmless'", ["committee_group", "split"]))
    ['committee_group', 'split']
    """
    if not isinstance(expression, str) or not expression.strip():
        raise WorkbenchDataError(f"'where' must be a non-empty expression, got {expression!r}")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as err:
        raise WorkbenchDataError(f"malformed expression {expression!r}: {err.msg} at column {err.offset}") from None
    names: set[str] = set()
    columns = list(columns)
    for node in ast.walk(tree):
        if not isinstance(node, _NODES):
            raise WorkbenchDataError(f"expression {expression!r} uses {type(node).__name__}, which a 'where' does not allow")
        if isinstance(node, ast.Attribute) and node.attr not in _METHODS:
            raise WorkbenchDataError(f"expression {expression!r} uses .{node.attr}; allowed methods: {', '.join(sorted(_METHODS))}")
        if isinstance(node, ast.Call) and (not isinstance(node.func, ast.Attribute) or node.keywords):
            raise WorkbenchDataError(f"expression {expression!r} calls something other than a column method")
        if isinstance(node, ast.Name):
            if node.id not in columns:
                hint = difflib.get_close_matches(node.id, [str(c) for c in columns], n=1)
                raise WorkbenchDataError(
                    f"unknown column {node.id!r} in expression {expression!r}" + (f"; did you mean {hint[0]!r}?" if hint else "")
                    + f" (columns: {', '.join(map(str, columns[:15]))}{' …' if len(columns) > 15 else ''})"
                )
            names.add(node.id)
    return names


def missing_columns(rule: dict, ratings: Ratings) -> list[str]:
    """The columns ``rule`` needs that ``ratings`` lacks (``[]`` when it can run), whether or not it is enabled.

    A ``where`` names rating, item or rater columns (``drop_raters``: rater columns); ``drop_tagged``
    needs its scheme's tags as item columns. A malformed expression needs no column: applying it says what is wrong.

    >>> import workbench
    >>> r = workbench.simulate_study(n_items=10, ratings_per_item=3, n_raters=6).ratings
    >>> missing_columns({"rule": "drop", "where": "committee_group == 'LowAgree' and split == 'harmless'"}, r)
    ['committee_group']
    >>> missing_columns({"rule": "drop_raters", "where": "attentiveness < 0.3"}, r)
    ['attentiveness']
    >>> missing_columns({"rule": "drop_tagged", "scheme": "unreliability_source", "values": ["both_harmful"]}, r)
    ['unreliability_source']
    >>> missing_columns({"rule": "min_ratings", "k": 3}, r)
    []
    """
    if rule["rule"] == "drop_tagged":
        try:
            _tag_columns(ratings, rule["scheme"], list(rule["values"]))
        except WorkbenchDataError:
            return [rule["scheme"]]
        return []
    if "where" not in rule:
        return []
    try:
        tree = ast.parse(str(rule["where"]).strip(), mode="eval")
    except SyntaxError:
        return []
    known = ["rater_id", *ratings.raters.columns] if rule["rule"] == "drop_raters" else _columns(ratings) + ["item_id", "rater_id", "label"]
    names = dict.fromkeys(node.id for node in ast.walk(tree) if isinstance(node, ast.Name))
    return [name for name in names if name not in known]


def _check_rule(rule, position: int) -> dict:
    where = f"rule {position + 1}"
    if not isinstance(rule, dict):
        raise WorkbenchDataError(f"{where} must be a dict with a 'rule' key, got {type(rule).__name__}")
    kind = rule.get("rule")
    if kind not in RULES:
        raise WorkbenchDataError(f"{where}: unknown rule {kind!r}; choose one of {', '.join(RULES)}")
    required = RULES[kind]
    missing = [k for k in required if k not in rule]
    if missing:
        raise WorkbenchDataError(f"{where} ({kind}) needs {missing[0]!r}")
    extra = [k for k in rule if k not in required and k not in ("rule", "enabled")]
    if extra:
        raise WorkbenchDataError(f"{where} ({kind}) has an unknown parameter {extra[0]!r}; it takes {', '.join(required)}, enabled")
    out = {"rule": kind, **{k: rule[k] for k in required}, "enabled": rule.get("enabled", True)}
    if not isinstance(out["enabled"], bool):
        raise WorkbenchDataError(f"{where} ({kind}): 'enabled' must be true or false, got {out['enabled']!r}")
    if "where" in out and (not isinstance(out["where"], str) or not out["where"].strip()):
        raise WorkbenchDataError(f"{where} ({kind}): 'where' must be a non-empty expression, got {out['where']!r}")
    if kind == "min_ratings" and not (isinstance(out["k"], (int, np.integer)) and not isinstance(out["k"], bool) and out["k"] >= 1):
        raise WorkbenchDataError(f"{where} (min_ratings): 'k' must be a whole number ≥ 1, got {out['k']!r}")
    if kind == "drop_tagged":
        if not isinstance(out["scheme"], str) or not out["scheme"]:
            raise WorkbenchDataError(f"{where} (drop_tagged): 'scheme' must be a scheme name, got {out['scheme']!r}")
        values = [out["values"]] if isinstance(out["values"], str) else out["values"]
        if not isinstance(values, (list, tuple)) or not values or not all(isinstance(v, str) for v in values):
            raise WorkbenchDataError(f"{where} (drop_tagged): 'values' must be a list of tag values, got {out['values']!r}")
        out["values"] = list(values)
    return out


def rule_label(rule: dict, position: int) -> str:
    """How provenance and tables name a rule: ``"2. drop: committee_group == 'LowAgree'"``."""
    detail = rule.get("where") or (f"{rule['scheme']} in {rule['values']}" if rule["rule"] == "drop_tagged" else f"k={rule.get('k')}")
    return f"{position + 1}. {rule['rule']}: {detail}"


@dataclass
class _Step:
    label: np.ndarray  # current label of every input rating: category codes (values for interval data)
    alive: np.ndarray  # bool: not dropped yet
    decided: np.ndarray  # int: position of the last rule that changed the row (-1: untouched)
    flipped: int = 0
    dropped: int = 0


class Recipe:
    """An ordered list of cleaning rules, each a dict with ``rule``, its parameters and ``enabled``.

    Rules (each acts on the ratings still present, in order):

    - ``flip`` — ``where``: swap A↔B on matching ratings (ties stay);
    - ``drop`` — ``where``: drop matching ratings;
    - ``drop_raters`` — ``where`` over rater columns: drop every rating of matching raters;
    - ``drop_tagged`` — ``scheme``, ``values``: drop items tagged with any of ``values`` (an item
      column named after the scheme, or boolean ``scheme=value`` columns; add them with
      :meth:`Ratings.with_columns`);
    - ``min_ratings`` — ``k``: drop items left with fewer than ``k`` ratings.

    ``where`` is a pandas expression over the rating's columns (``label`` is the current label),
    then its item columns, then its rater columns (a name is looked up in that order).

    Examples
    --------
    >>> import workbench
    >>> study = workbench.simulate_study(seed=0, n_items=100, ratings_per_item=5, n_raters=20)
    >>> recipe = workbench.Recipe([
    ...     {"rule": "flip", "where": "split == 'harmless' and label == 'A'"},
    ...     {"rule": "drop", "where": "age_band == '55+'"},
    ...     {"rule": "min_ratings", "k": 4, "enabled": False},
    ... ])
    >>> cleaned, provenance = recipe.apply(study.ratings)
    >>> provenance["action"].value_counts().to_dict()
    {'keep': 252, 'drop': 167, 'flip': 81}
    >>> workbench.Recipe.from_yaml(recipe.to_yaml()) == recipe
    True
    """

    def __init__(self, rules, *, name: str | None = None):
        if isinstance(rules, Recipe):
            rules, name = rules.rules, name or rules.name
        if isinstance(rules, dict):
            name = name or rules.get("name")
            rules = rules.get("rules")
        if not isinstance(rules, (list, tuple)):
            raise WorkbenchDataError(f"a recipe is a list of rule dicts, got {type(rules).__name__}")
        self.rules = [_check_rule(rule, k) for k, rule in enumerate(rules)]
        self.name = name

    def __repr__(self) -> str:
        on = sum(r["enabled"] for r in self.rules)
        return f"Recipe({self.name!r}, {len(self.rules)} rules, {on} enabled)"

    def __eq__(self, other) -> bool:
        return isinstance(other, Recipe) and self.rules == other.rules and self.name == other.name

    # ------------------------------------------------------------------ formats
    def to_dict(self) -> dict:
        return {"name": self.name, "rules": [dict(rule) for rule in self.rules]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> "Recipe":
        try:
            return cls(json.loads(text))
        except json.JSONDecodeError as err:
            raise WorkbenchDataError(f"recipe JSON is malformed: {err}") from None

    def to_yaml(self) -> str:
        import yaml

        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    @classmethod
    def from_yaml(cls, text: str) -> "Recipe":
        import yaml

        try:
            return cls(yaml.safe_load(text))
        except yaml.YAMLError as err:
            raise WorkbenchDataError(f"recipe YAML is malformed: {err}") from None

    def save(self, store, name: str | None = None, author: str | None = None) -> int:
        """Save under ``name`` (default: the recipe's own) in the store's recipes table, in one transaction."""
        name = name or self.name
        return store.save_recipe(name, {**self.to_dict(), "name": name}, author=author)

    @classmethod
    def load(cls, store, name: str) -> "Recipe":
        """The latest version of a recipe saved under ``name``."""
        return cls(store.load_recipe(name), name=name)

    def with_enabled(self, position: int, enabled: bool) -> "Recipe":
        """A copy with rule ``position`` (0-based) switched on or off."""
        rules = [dict(rule) for rule in self.rules]
        rules[position]["enabled"] = bool(enabled)
        return Recipe(rules, name=self.name)

    # ------------------------------------------------------------------ applying
    def apply(self, ratings: Ratings) -> tuple[Ratings, pd.DataFrame]:
        """Apply the enabled rules in order; return the cleaned Ratings and a provenance table.

        Provenance has one row per input rating: ``item_id, rater_id, label, new_label`` (missing
        when dropped), ``action`` (keep / flip / drop) and ``rule`` (the last rule that changed the
        row; missing for untouched rows).
        """
        final = self.steps(ratings)[-1]
        return build_cleaned(ratings, final, self.name), provenance(ratings, final, self.labels())

    def steps(self, ratings: Ratings) -> list[_Step]:
        """The state before any rule and after each rule (disabled rules repeat the state)."""
        ratings = _check_ratings(ratings, "Recipe.apply()")
        checked = self._check_against(ratings)
        codes = ratings.codes
        if any(r["rule"] == "flip" and r["enabled"] for r in self.rules):
            _preference_labels(ratings, "a flip rule")
        n = len(codes.value)
        state = _Step(codes.value, np.ones(n, dtype=bool), np.full(n, -1, dtype=np.int64))
        states = [state]
        for position, rule in enumerate(self.rules):
            if rule["enabled"]:
                state = _apply_rule(ratings, codes, rule, checked[position], state, position)
            else:
                state = _Step(state.label, state.alive, state.decided)
            states.append(state)
        return states

    def labels(self) -> list[str]:
        """Each rule's display name (see :func:`rule_label`)."""
        return [rule_label(rule, k) for k, rule in enumerate(self.rules)]

    def _check_against(self, ratings: Ratings) -> list:
        """Every enabled rule checked against this data before anything is applied: names, tags, labels."""
        columns = _columns(ratings)
        out = []
        for position, rule in enumerate(self.rules):
            try:
                if not rule["enabled"]:
                    out.append(None)
                elif rule["rule"] == "drop_raters":
                    out.append(parse_where(rule["where"], ["rater_id", *ratings.raters.columns]))
                elif "where" in rule:
                    out.append(parse_where(rule["where"], columns))
                elif rule["rule"] == "drop_tagged":
                    out.append(_tag_columns(ratings, rule["scheme"], rule["values"]))
                else:
                    out.append(None)
            except WorkbenchDataError as err:
                raise WorkbenchDataError(f"rule {position + 1} ({rule['rule']}): {err}") from None
        return out


def _columns(ratings: Ratings) -> list[str]:
    seen = dict.fromkeys([*ratings.ratings.columns, *ratings.items.columns, *ratings.raters.columns])
    return list(seen)


def _tag_columns(ratings: Ratings, scheme: str, values: list[str]) -> list[str]:
    items = ratings.items
    if scheme in items.columns:
        return [scheme]
    flags = [f"{scheme}={v}" for v in values if f"{scheme}={v}" in items.columns]
    if flags:
        return flags
    raise WorkbenchDataError(
        f"no tags of scheme {scheme!r} in the item table (no column {scheme!r} or '{scheme}=…'); "
        "add them with ratings.with_columns(items=...)"
    )


def _source(ratings: Ratings, name: str) -> str:
    """Where a name in an expression comes from: the rating, its item or its rater (in that order)."""
    if name == "label" or (name in ratings.ratings.columns and name not in ("item_id", "rater_id")):
        return "rating"
    return "item" if name == "item_id" or name in ratings.items.columns else "rater"


def _expand(values: pd.Series, index: np.ndarray):
    """``values.take(index)`` without materialising text: text becomes a categorical over its distinct values."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return pd.Categorical.from_codes(values.cat.codes.to_numpy()[index], dtype=values.dtype)
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return values.to_numpy()[index]
    codes, uniques = pd.factorize(values)
    return pd.Categorical.from_codes(codes[index], categories=uniques)


def _side_table(table: pd.DataFrame, names) -> pd.DataFrame:
    return table.reset_index()[list(names)]


def _where(ratings: Ratings, codes, names: set[str], expression: str, label: np.ndarray) -> np.ndarray:
    """The expression's truth value per rating, evaluated per item or per rater when it only uses their columns."""
    sources = {name: _source(ratings, name) for name in names}
    if sources and set(sources.values()) == {"item"}:
        return _evaluate(_side_table(ratings.items, names), expression)[codes.item]
    if sources and set(sources.values()) == {"rater"}:
        return _evaluate(_side_table(ratings.raters, names), expression)[codes.rater]
    data = {}
    for name, source in sources.items():
        if name == "label":
            data[name] = pd.Categorical.from_codes(label, categories=ratings.categories) if ratings.categories else label
        elif source == "rating":
            data[name] = _expand(ratings.ratings[name], slice(None))
        elif source == "item":
            data[name] = _expand(ratings.items.reset_index()[name], codes.item)
        else:
            data[name] = _expand(ratings.raters.reset_index()[name], codes.rater)
    return _evaluate(pd.DataFrame(data, index=pd.RangeIndex(len(label))), expression)


def _evaluate(frame: pd.DataFrame, expression: str) -> np.ndarray:
    try:
        result = frame.eval(expression.strip(), engine="python")
    except Exception as err:  # pandas raises many kinds for a type mismatch; report it as the user's input
        raise WorkbenchDataError(f"cannot evaluate {expression!r}: {type(err).__name__}: {err}") from None
    mask = np.asarray(pd.Series(result).fillna(False)) if isinstance(result, pd.Series) else np.asarray(result)
    if mask.dtype != bool:
        raise WorkbenchDataError(f"expression {expression!r} must give true/false per row, not {mask.dtype} values")
    return np.broadcast_to(mask, (len(frame),)) if mask.ndim == 0 else mask


def _apply_rule(ratings, codes, rule, checked, state: _Step, position: int) -> _Step:
    kind = rule["rule"]
    if kind == "flip":
        a, b = ratings.categories.index("A"), ratings.categories.index("B")
        hit = state.alive & _where(ratings, codes, checked, rule["where"], state.label) & np.isin(state.label, [a, b])
        new_label = np.where(hit, a + b - state.label, state.label)
        return _Step(new_label, state.alive, np.where(hit, position, state.decided), flipped=int(hit.sum()))
    if kind == "drop":
        hit = _where(ratings, codes, checked, rule["where"], state.label)
    elif kind == "drop_raters":
        hit = _evaluate(_side_table(ratings.raters, checked), rule["where"])[codes.rater]
    elif kind == "drop_tagged":
        items = ratings.items
        tagged = np.zeros(len(items), dtype=bool)
        for column in checked:
            values = items[column]
            tagged |= (values.isin(rule["values"]) if column == rule["scheme"] else values.fillna(False).astype(bool)).to_numpy()
        hit = tagged[codes.item]
    else:  # min_ratings
        remaining = np.bincount(codes.item[state.alive], minlength=len(codes.items))
        hit = remaining[codes.item] < rule["k"]
    hit = hit & state.alive
    return _Step(state.label, state.alive & ~hit, np.where(hit, position, state.decided), dropped=int(hit.sum()))


def _text_labels(ratings: Ratings, label: np.ndarray):
    return pd.Categorical.from_codes(label, categories=ratings.categories) if ratings.categories else label


def build_cleaned(ratings: Ratings, state: _Step, name: str | None = None) -> Ratings:
    """The Ratings a state describes: surviving ratings with their current labels (input untouched)."""
    if not state.alive.any():
        raise WorkbenchDataError("the recipe drops every rating; switch a rule off or loosen its condition")
    table = ratings.ratings[state.alive].reset_index(drop=True)
    if not np.array_equal(state.label, ratings.codes.value):
        table["label"] = pd.Series(_text_labels(ratings, state.label[state.alive])).astype(table["label"].dtype)
    kept_items = np.zeros(ratings.n_items, dtype=bool)
    kept_items[ratings.codes.item[state.alive]] = True
    kept_raters = np.zeros(ratings.n_raters, dtype=bool)
    kept_raters[ratings.codes.rater[state.alive]] = True
    meta = {**ratings.meta, "cleaned_by": name or "recipe"}
    return Ratings(table, ratings.items[kept_items], ratings.raters[kept_raters], level=ratings.level,
                   categories=ratings.categories, meta=meta)


def provenance(ratings: Ratings, state: _Step, rule_labels) -> pd.DataFrame:
    """One row per input rating: ``item_id, rater_id, label, new_label, action, rule``."""
    original = ratings.codes.value
    action = np.where(~state.alive, 2, np.where(state.label != original, 1, 0))
    new_label = _text_labels(ratings, np.where(state.alive, state.label, -1 if ratings.categories else np.nan))
    table = ratings.ratings
    return pd.DataFrame({
        "item_id": table["item_id"].reset_index(drop=True),
        "rater_id": table["rater_id"].reset_index(drop=True),
        "label": _text_labels(ratings, original),
        "new_label": new_label,
        "action": pd.Categorical.from_codes(action, categories=list(ACTIONS)),
        "rule": pd.Categorical.from_codes(state.decided, categories=list(rule_labels)),
    })


def recipe_effect(ratings: Ratings, recipe, *, metric: str = "alpha", ci: float = 0.95, n_boot: int = 200,
                  seed: int = 0, device="auto") -> pd.DataFrame:
    """What each rule does: ratings flipped and dropped, and agreement before and after it, with intervals.

    One row per rule in order (disabled rules change nothing); ``before`` is the state after the
    rules above it. Intervals are percentile bootstraps over items (see :func:`reliability`).

    >>> import workbench
    >>> study = workbench.simulate_study(seed=0, n_items=100, ratings_per_item=5, n_raters=20)
    >>> effect = workbench.recipe_effect(study.ratings, [{"rule": "drop", "where": "age_band == '18-34'"}], n_boot=50)
    >>> effect[["rule", "dropped", "n_ratings"]].to_dict("records")
    [{'rule': "1. drop: age_band == '18-34'", 'dropped': 233, 'n_ratings': 267}]
    """
    recipe = recipe if isinstance(recipe, Recipe) else Recipe(recipe)
    states = recipe.steps(ratings)
    values = []
    for state in states:
        if state is states[0] or state.flipped or state.dropped or not values:
            subset = build_cleaned(ratings, state) if state is not states[0] else ratings
            row = reliability(subset, metric=metric, ci=ci, n_boot=n_boot, seed=seed, device=device).iloc[0]
            values.append((row["value"], row["ci_low"], row["ci_high"]))
        else:
            values.append(values[-1])
    rows = []
    for position, rule in enumerate(recipe.rules):
        after = states[position + 1]
        before_value, after_value = values[position], values[position + 1]
        rows.append({
            "rule": rule_label(rule, position), "enabled": rule["enabled"], "flipped": after.flipped, "dropped": after.dropped,
            "n_ratings": int(after.alive.sum()),
            "before": before_value[0], "before_low": before_value[1], "before_high": before_value[2],
            "after": after_value[0], "after_low": after_value[1], "after_high": after_value[2],
        })
    return pd.DataFrame(rows, columns=["rule", "enabled", "flipped", "dropped", "n_ratings", "before", "before_low",
                                       "before_high", "after", "after_low", "after_high"])
