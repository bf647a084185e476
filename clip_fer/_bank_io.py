"""Reading and writing prompt banks: JSON, the report's dictionaries, built-in names."""

import json
from collections.abc import Mapping
from pathlib import Path

from sklearn.base import clone

from ._prompt_bank import BUILTIN_VOCABULARIES, PromptBank
from .exceptions import PromptBankError
from .utils._json import strict_json

__all__ = ["BUILTIN_BANKS", "load_prompt_bank", "save_prompt_bank", "bank_from_report_dict"]


def _builtin(name):
    def make():
        return PromptBank(name=name)

    make.__doc__ = f"``PromptBank(name={name!r})``."
    return make


#: Names accepted by :func:`load_prompt_bank`, each with its constructor
#: (``PromptBank(name=...)``: a built-in bank is named after its source).
BUILTIN_BANKS = {name: _builtin(name) for name in BUILTIN_VOCABULARIES}

_JSON_KEYS = {"templates", "synonyms"}
_OPTIONAL_JSON_KEYS = {"name"}


def bank_to_dict(bank):
    """The JSON-ready form of a bank: ``{"templates": [...], "synonyms": {...}}``,
    with ``"name"`` when the bank has one."""
    fitted = clone(bank).fit()  # from the current params, never stale fitted state
    synonyms = {}
    for word, c in zip(fitted.words_, fitted.word_class_):
        synonyms.setdefault(str(fitted.classes_[c]), []).append(word)
    data = {"templates": list(fitted.templates_), "synonyms": synonyms}
    name = getattr(bank, "name", None)
    if isinstance(name, str):
        data["name"] = name
    return data


def bank_from_dict(data, source="the prompt bank", name=None):
    """A validated bank from ``{"templates": [...], "synonyms": {...}}`` (and an
    optional ``"name"``, else ``name``)."""
    if not isinstance(data, Mapping):
        raise PromptBankError(
            f"{source} must be a JSON object with keys 'templates' and 'synonyms'. "
            f"Got {type(data).__name__} instead."
        )
    unknown = sorted(set(data) - _JSON_KEYS - _OPTIONAL_JSON_KEYS)
    missing = sorted(_JSON_KEYS - set(data))
    if unknown or missing:
        raise PromptBankError(
            f"{source} has unknown keys {unknown} and lacks keys {missing}; "
            "a prompt bank has 'templates' and 'synonyms' (and optionally 'name')."
        )
    return PromptBank(data["templates"], data["synonyms"], name=data.get("name", name)).fit()


def bank_from_report_dict(data, category="emotions", name=None):
    """A bank from the report's dictionary format.

    Parameters
    ----------
    data : dict
        ``{"emotions": {"labels": {class: [words]}, "templates": [...],
        "topk": 3}, "gender": {...}}`` as the report stored it.
    category : str, default="emotions"
        Which category of the dictionary to read ("emotions" or "gender").
    name : str, default=None
        The bank's name (``PromptBank(name=...)``).

    Returns
    -------
    bank : PromptBank
        Fitted. The report's ``topk`` belongs to ``RankVoteDecider(top_k=...)``.
    """
    if not isinstance(data, Mapping) or category not in data:
        keys = sorted(data) if isinstance(data, Mapping) else type(data).__name__
        raise PromptBankError(f"The report dictionary has no category {category!r}; it has {keys}.")
    entry = data[category]
    for key in ("labels", "templates"):
        if not isinstance(entry, Mapping) or key not in entry:
            raise PromptBankError(f"The report dictionary's {category!r} entry lacks the key {key!r}.")
    return PromptBank(entry["templates"], entry["labels"], name=name).fit()


def load_prompt_bank(source, category="emotions"):
    """Load a prompt bank from a built-in name, a JSON file or a report ``.pt`` file.

    Parameters
    ----------
    source : str or path-like
        A name in :data:`BUILTIN_BANKS` (``"default"``, ``"report"``,
        ``"report-corrected"``, ``"openai"``, ``"baseline"``, ``"default-8"``,
        ``"baseline-8"``, ``"gender"``), a ``.json`` file in the format
        :func:`save_prompt_bank` writes (or the report's dictionary format), or
        one of the report's ``.pt`` dictionaries. ``.pt`` files are read with
        ``torch.load(weights_only=True)``, which runs no code from the file.
    category : str, default="emotions"
        The category to read from a report dictionary.

    Returns
    -------
    bank : PromptBank
        Fitted, so that a malformed file fails here. A built-in bank is named after
        its source (``PromptBank(name="openai")``); a file's bank has the ``"name"``
        it was saved with, else the file's name without its suffix.
    """
    if isinstance(source, str) and source in BUILTIN_BANKS:
        return BUILTIN_BANKS[source]().fit()
    path = Path(source)
    if not path.is_file():
        raise PromptBankError(
            f"No prompt bank {str(source)!r}: it is neither a built-in name "
            f"({', '.join(BUILTIN_BANKS)}) nor an existing file."
        )
    if path.suffix == ".pt":
        import torch

        try:
            data = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise PromptBankError(
                f"{path} could not be read as a plain dictionary with torch.load(weights_only=True): {exc}"
            ) from exc
        return bank_from_report_dict(data, category, name=path.stem)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PromptBankError(f"{path} is not valid JSON: {exc}") from exc
    if isinstance(data, Mapping) and ("emotions" in data or "gender" in data):
        return bank_from_report_dict(data, category, name=path.stem)
    return bank_from_dict(data, source=str(path), name=path.stem)


def save_prompt_bank(bank, path):
    """Write ``bank`` as JSON (UTF-8) to ``path``; :func:`load_prompt_bank` reads it back.

    Parameters
    ----------
    bank : PromptBank
        Written from its parameters (fitted or not).
    path : str or path-like
        The file to write; replaced if it exists.
    """
    Path(path).write_text(
        strict_json(bank_to_dict(bank), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
