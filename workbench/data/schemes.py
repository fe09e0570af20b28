"""Tag schemes as data: a name, values with one-line definitions, single or multiple choice.

The four built-ins carry their definitions from the papers they come from (docs/METHODS.md); a researcher's
own taxonomy is read from YAML or JSON with :func:`load_scheme` and registered in the store.
"""

from __future__ import annotations

import json
from dataclasses import KW_ONLY, dataclass
from pathlib import Path
from types import MappingProxyType

from ..errors import WorkbenchDataError

NOTE_POLICIES = ("optional", "required")
_KEYS = ("name", "values", "multi", "note", "description")


@dataclass(frozen=True, eq=False)
class Scheme:
    """A tag scheme: ``values`` maps each value to a one-line definition.

    ``multi=True`` lets an item carry several values at once; ``note="required"`` refuses a tag
    without a note. Names and values may not contain ``=`` (multi-choice columns are ``scheme=value``).

    >>> from workbench import Scheme
    >>> s = Scheme("clarity", {"clear": "One reading only.", "ambiguous": "Two or more readings."})
    >>> s.value_names, s.multi
    (('clear', 'ambiguous'), False)
    >>> Scheme("clarity", {})
    Traceback (most recent call last):
    ...
    workbench.errors.WorkbenchDataError: scheme 'clarity' needs at least one value in 'values'
    """

    name: str
    values: dict
    _: KW_ONLY
    multi: bool = False
    note: str = "optional"
    description: str = ""

    def __post_init__(self):
        _check_name(self.name, "scheme name")
        where = f"scheme {self.name!r}"
        if not isinstance(self.values, dict) and not hasattr(self.values, "items"):
            raise WorkbenchDataError(f"{where}: 'values' must map each value to a one-line definition, got {type(self.values).__name__}")
        if len(self.values) == 0:
            raise WorkbenchDataError(f"{where} needs at least one value in 'values'")
        for value, definition in self.values.items():
            _check_name(value, f"{where}: value")
            if not isinstance(definition, str) or "\n" in definition.strip():
                raise WorkbenchDataError(f"{where}: the definition of value {value!r} must be one line of text, got {definition!r}")
        if not isinstance(self.multi, bool):
            raise WorkbenchDataError(f"{where}: 'multi' must be true or false, got {self.multi!r}")
        if self.note not in NOTE_POLICIES:
            raise WorkbenchDataError(f"{where}: 'note' must be one of {', '.join(NOTE_POLICIES)}, got {self.note!r}")
        if not isinstance(self.description, str):
            raise WorkbenchDataError(f"{where}: 'description' must be text, got {type(self.description).__name__}")
        object.__setattr__(self, "values", MappingProxyType({v: d.strip() for v, d in self.values.items()}))

    @property
    def value_names(self) -> tuple[str, ...]:
        return tuple(self.values)

    def to_dict(self) -> dict:
        """A plain dict (what :func:`load_scheme` reads back)."""
        return {"name": self.name, "values": dict(self.values), "multi": self.multi, "note": self.note,
                "description": self.description}

    def _key(self) -> tuple:
        return (self.name, tuple(self.values.items()), self.multi, self.note, self.description)

    def __hash__(self):
        return hash(self._key())

    def __eq__(self, other):  # value order counts: it is the order of the Tagger's buttons
        return isinstance(other, Scheme) and self._key() == other._key()

    @classmethod
    def from_dict(cls, spec, source: str = "scheme") -> "Scheme":
        """Build a scheme from a dict, naming unknown or missing keys."""
        if not isinstance(spec, dict):
            raise WorkbenchDataError(f"{source}: expected a mapping with keys {', '.join(_KEYS)}, got {type(spec).__name__}")
        unknown = [k for k in spec if k not in _KEYS]
        if unknown:
            raise WorkbenchDataError(f"{source}: unknown key {unknown[0]!r}; expected {', '.join(_KEYS)}")
        missing = [k for k in ("name", "values") if k not in spec]
        if missing:
            raise WorkbenchDataError(f"{source}: missing key {missing[0]!r}")
        try:
            return cls(**spec)
        except WorkbenchDataError as err:
            raise WorkbenchDataError(f"{source}: {err}") from None


def _check_name(text, what: str) -> None:
    if not isinstance(text, str) or not text.strip() or text != text.strip():
        raise WorkbenchDataError(f"{what} must be non-empty text without surrounding spaces, got {text!r}")
    if "=" in text or "\n" in text:
        raise WorkbenchDataError(f"{what} {text!r} may not contain '=' or a line break")


def load_scheme(source) -> Scheme:
    """A scheme from a dict, or from a ``.yaml``/``.yml``/``.json`` file (``name``, ``values``, ``multi``, ``note``, ``description``).

    >>> import workbench
    >>> workbench.load_scheme({"name": "harm", "values": {"none": "No harm.", "some": "Could hurt someone."}}).value_names
    ('none', 'some')
    """
    if isinstance(source, Scheme):
        return source
    if isinstance(source, dict):
        return Scheme.from_dict(source)
    if not isinstance(source, (str, Path)):
        raise WorkbenchDataError(f"load_scheme() takes a dict or a path to a YAML/JSON file, got {type(source).__name__}")
    path = Path(source)
    where = f"scheme file {str(path)!r}"
    if path.suffix.lower() not in (".yaml", ".yml", ".json"):
        raise WorkbenchDataError(f"{where}: expected a .yaml, .yml or .json file")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise WorkbenchDataError(f"{where}: cannot read it ({err.strerror or err})") from None
    if path.suffix.lower() == ".json":
        try:
            spec = json.loads(text)
        except json.JSONDecodeError as err:
            raise WorkbenchDataError(f"{where}: not valid JSON (line {err.lineno}: {err.msg})") from None
    else:
        import yaml

        try:
            spec = yaml.safe_load(text)
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            line = f" (line {mark.line + 1})" if mark is not None else ""
            raise WorkbenchDataError(f"{where}: not valid YAML{line}: {getattr(err, 'problem', None) or err}") from None
    return Scheme.from_dict(spec, source=where)


#: The built-in schemes, with definitions from their papers (docs/METHODS.md, "Disagreement as signal").
BUILTIN_SCHEMES: dict[str, Scheme] = {
    s.name: s
    for s in (
        Scheme(
            "subjectivity",
            {
                "manifest": "Surface content anyone can observe directly; disagreement is noise (majority or gold label).",
                "latent_pattern": "A defined pattern that needs coder judgement; disagreement is mostly noise (majority, report agreement).",
                "latent_projective": "The answer depends on the rater's own beliefs or experience; disagreement is signal (keep the distribution).",
            },
            description="How much the answer depends on the rater (Potter & Levine-Donnerstein 1999).",
        ),
        Scheme(
            "plurality",
            {
                "single_correct": "The prompt has one factually correct answer.",
                "multiple_correct": "The prompt has many valid answers.",
            },
            description="Plurality of responses to the prompt (Padmakumar et al. 2024).",
        ),
        Scheme(
            "distinguishability",
            {
                "distinguishable": "The two responses differ in substance.",
                "indistinguishable": "The two responses are essentially paraphrases or minor stylistic variants.",
            },
            description="Whether the two responses can be told apart (Padmakumar et al. 2024).",
        ),
        Scheme(
            "unreliability_source",
            {
                "mislabeling": "The human label is a mistake: it contradicts the responses.",
                "subjective_preference": "The query invites personal preference.",
                "evaluation_criteria": "Raters weigh helpfulness and harmlessness by different criteria.",
                "quality_threshold": "Raters differ on what counts as good enough.",
                "both_harmful": "Both responses contain harmful suggestions.",
                "both_misinformation": "Both responses contain misinformation.",
            },
            multi=True,
            description="Why the preference label may be unreliable; several may apply (the six sources of Yeh et al. 2024).",
        ),
    )
}
