"""PromptBank: templates x synonyms -> sentences, with explicit index arrays."""

import html
import re
from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.base import BaseEstimator

from . import _vocabularies as vocab
from .exceptions import PromptBankError

__all__ = ["BUILTIN_VOCABULARIES", "PromptBank", "PLACEHOLDER_PATTERN"]

#: A template's blank: ``{}`` or the report's run of two or more underscores.
PLACEHOLDER_PATTERN = re.compile(r"\{\}|_{2,}")


#: The built-in banks by name: (templates, synonyms). ``PromptBank(name=...)`` reads them.
BUILTIN_VOCABULARIES = {
    "default": (vocab.REPORT_TEMPLATES, vocab.REPORT_SYNONYMS_CORRECTED),
    "report": (vocab.REPORT_TEMPLATES, vocab.REPORT_SYNONYMS),
    "report-corrected": (vocab.REPORT_TEMPLATES, vocab.REPORT_SYNONYMS_CORRECTED),
    "openai": (vocab.OPENAI_FER2013_TEMPLATES, vocab.OPENAI_FER2013_SYNONYMS),
    "baseline": (vocab.BASELINE_TEMPLATES, vocab.BASELINE_SYNONYMS),
    "default-8": (vocab.REPORT_TEMPLATES, vocab.REPORT_SYNONYMS_CORRECTED_8),
    "baseline-8": (vocab.BASELINE_TEMPLATES, vocab.BASELINE_SYNONYMS_8),
    "gender": (vocab.GENDER_TEMPLATES, vocab.GENDER_SYNONYMS),
}


def _split_template(template, position):
    if not isinstance(template, str):
        raise PromptBankError(f"Template {position} must be a str. Got {type(template).__name__} instead.")
    parts = PLACEHOLDER_PATTERN.split(template)
    if len(parts) != 2:
        raise PromptBankError(
            f"Template {position} {template!r} has {len(parts) - 1} placeholders; "
            "it needs exactly one, written '{}' or '____' (e.g. 'a photo of a {} "
            "looking face.')."
        )
    return parts


def word_key(word):
    """A word as CLIP's tokenizer sees it: ftfy-fixed, HTML unescaped, spaces collapsed, lower-case.

    Two words with one key are encoded alike (``"Glad"``, ``"glad "`` and
    ``"glad"``), so a bank must not list them under two classes, nor twice
    under one.

    Parameters
    ----------
    word : str

    Returns
    -------
    key : str
    """
    import ftfy  # a dependency of CLIP's tokenizer

    text = html.unescape(html.unescape(ftfy.fix_text(word)))
    return re.sub(r"\s+", " ", text).strip().lower()


def _check_words(cls, words):
    if isinstance(words, str) or not isinstance(words, Sequence):
        raise PromptBankError(
            f"The synonyms of class {cls!r} must be a list of words. Got "
            f"{words!r} instead; write [{words!r}] for a single word."
        )
    if len(words) == 0:
        raise PromptBankError(
            f"Class {cls!r} has no words. Give it at least one, e.g. {{{cls!r}: "
            f"[{cls!r}]}}, or remove the class."
        )
    for word in words:
        if not isinstance(word, str) or not word.strip():
            raise PromptBankError(f"Class {cls!r} has the word {word!r}; every word must be a non-empty str.")
    return tuple(words)


class PromptBank(BaseEstimator):
    """Sentence templates crossed with per-class synonyms.

    Every template is filled with every word, template-major: sentence ``s`` uses
    template ``s // n_words`` and word ``s % n_words``. The fitted index arrays
    map each sentence and word back to its class by position, never by string.

    Parameters
    ----------
    templates : sequence of str, default=None
        Sentence templates, each with exactly one placeholder written ``{}`` or as a
        run of underscores (``____``, as in the report). None takes the templates
        of the built-in bank ``name`` (the default bank when ``name`` is None).
    synonyms : mapping of str to sequence of str, default=None
        Class name to the words that stand for it, e.g.
        ``{"angry": ["annoyed", "furious", "frown"], ...}``. A word may belong to
        one class only. None takes the synonyms of the built-in bank ``name``
        (the default bank when ``name`` is None); :meth:`vocabulary` gives them.
    name : str, default=None
        The bank's name, shown first in its ``repr`` and so in ``GridSearchCV``'s
        ``cv_results_`` and ``best_params_`` (:func:`clip_fer.search_results_frame`
        shows it as a column). The built-in banks are named after their source:
        ``"default"``, ``"report"``, ``"report-corrected"``, ``"openai"``,
        ``"baseline"``, ``"default-8"`` and ``"baseline-8"`` (the same with
        ``contempt``, for AffectNet-8, FERPlus and CK+), ``"gender"``;
        ``PromptBank(name="openai")`` is OpenAI's
        FER2013 bank, and its ``repr`` says just that. Any other name labels a bank
        given with ``templates`` and ``synonyms`` (``load_prompt_bank`` names a file's
        bank after the file); a name never changes a prediction.

    Attributes
    ----------
    classes_ : ndarray of str, shape (n_classes,)
        Class names, sorted.
    templates_ : tuple of str
        The templates as given.
    words_ : tuple of str, shape (n_words,)
        All words, grouped by class in ``classes_`` order.
    word_class_ : ndarray of int, shape (n_words,)
        Index into ``classes_`` of each word.
    sentences_ : tuple of str, shape (n_templates * n_words,)
        Every template filled with every word, template-major.
    sentence_template_ : ndarray of int, shape (n_sentences,)
        Index into ``templates_`` of each sentence.
    sentence_word_ : ndarray of int, shape (n_sentences,)
        Index into ``words_`` of each sentence.

    Examples
    --------
    >>> bank = PromptBank(["this is {} person"], {"happy": ["glad"], "sad": ["sad"]})
    >>> bank.fit().sentences_
    ('this is glad person', 'this is sad person')
    >>> PromptBank.openai_fer2013()
    PromptBank(name='openai')
    >>> len(PromptBank(name="openai").fit().templates_)
    6
    """

    # The vocabulary is checked item by item in fit, with PromptBankError messages
    # that name the template or class at fault, which a constraint cannot say.
    _parameter_constraints = {
        "templates": "no_validation",
        "synonyms": "no_validation",
        "name": [str, None],
    }

    def __init__(self, templates=None, synonyms=None, name=None):
        self.templates = templates
        self.synonyms = synonyms
        self.name = name

    def fit(self, X=None, y=None):
        """Validate the vocabulary and build the sentences and index arrays.

        Parameters
        ----------
        X, y : ignored
            Present for scikit-learn API consistency.

        Returns
        -------
        self : PromptBank
        """
        if self.name is not None and not isinstance(self.name, str):
            raise PromptBankError(f"'name' must be a str or None. Got {self.name!r} instead.")
        templates, synonyms = self._resolved_vocabulary()
        if isinstance(templates, str) or not isinstance(templates, Sequence):
            raise PromptBankError(f"'templates' must be a list of str. Got {templates!r} instead.")
        if len(templates) == 0:
            raise PromptBankError("'templates' is empty; give at least one template.")
        if len(set(templates)) != len(templates):
            raise PromptBankError("'templates' lists the same template twice.")
        parts = [_split_template(t, i) for i, t in enumerate(templates)]

        if not isinstance(synonyms, Mapping) or len(synonyms) == 0:
            raise PromptBankError(
                f"'synonyms' must be a non-empty dict of class name to words. Got {synonyms!r} instead."
            )
        for cls in synonyms:
            if not isinstance(cls, str) or not cls:
                raise PromptBankError(f"Class names must be non-empty str. Got {cls!r} instead.")
        classes = sorted(synonyms)
        words, word_class, owner = [], [], {}  # owner: word_key -> (class, word as written)
        for c, cls in enumerate(classes):
            for word in _check_words(cls, synonyms[cls]):
                key = word_key(word)
                if key in owner:
                    first_class, first = owner[key]
                    alike = (
                        ""
                        if first == word
                        else f" ({first!r} and {word!r} are one word to CLIP's tokenizer: "
                        "case, spacing and HTML entities aside)"
                    )
                    if first_class == cls:
                        raise PromptBankError(
                            f"The word {word!r} is listed twice under {cls!r}{alike}; list it once."
                        )
                    raise PromptBankError(
                        f"The word {word!r} is listed under both {first_class!r} and "
                        f"{cls!r}{alike}; a word may stand for one class only."
                    )
                owner[key] = (cls, word)
                words.append(word)
                word_class.append(c)

        self.templates_ = tuple(templates)
        self.classes_ = np.array(classes, dtype=object)
        self.words_ = tuple(words)
        self.word_class_ = np.asarray(word_class, dtype=np.intp)
        self.sentences_ = tuple(pre + word + post for pre, post in parts for word in words)
        n_templates, n_words = len(templates), len(words)
        self.sentence_template_ = np.repeat(np.arange(n_templates), n_words)
        self.sentence_word_ = np.tile(np.arange(n_words), n_templates)
        return self

    def _resolved_vocabulary(self):
        """(templates, synonyms): those given, the missing ones from the built-in ``name``."""
        if self.templates is not None and self.synonyms is not None:
            return self.templates, self.synonyms
        name = "default" if self.name is None else self.name
        if name not in BUILTIN_VOCABULARIES:
            raise PromptBankError(
                f"PromptBank(name={name!r}) has no 'templates' or 'synonyms', and {name!r} is not "
                f"a built-in bank ({', '.join(BUILTIN_VOCABULARIES)}). Give both, or name a built-in bank."
            )
        if self.name is None and (self.templates is not None or self.synonyms is not None):
            missing = "templates" if self.templates is None else "synonyms"
            raise PromptBankError(
                f"'{missing}' is None while the other is given; give both, or neither for the default bank."
            )
        templates, synonyms = BUILTIN_VOCABULARIES[name]
        return (
            templates if self.templates is None else self.templates,
            synonyms if self.synonyms is None else self.synonyms,
        )

    def vocabulary(self):
        """The bank's templates and synonyms as fresh lists, to edit into a bank of your own.

        A built-in bank (``PromptBank.default()``, ``PromptBank(name="openai")``)
        keeps ``templates`` and ``synonyms`` None and reads its words by name; this
        gives them, whichever way the bank was made.

        Returns
        -------
        templates : list of str
        synonyms : dict of str to list of str

        Examples
        --------
        >>> from clip_fer import PromptBank
        >>> templates, synonyms = PromptBank.default().vocabulary()
        >>> synonyms["happy"].append("joyful")
        >>> mine = PromptBank(templates, synonyms, name="default+joyful").fit()
        >>> "joyful" in mine.words_
        True
        """
        templates, synonyms = self._resolved_vocabulary()
        return as_lists(templates), as_lists(synonyms)

    # Built-in banks -------------------------------------------------------------

    @classmethod
    def report_best(cls, spelling="original"):
        """The report's best configuration, "3 templates 3 labels 1".

        Parameters
        ----------
        spelling : {"original", "corrected"}, default="original"
            ``"original"`` keeps the report's words as printed ("furios",
            "nervus", "fearness", "non emotinal"); ``"corrected"`` fixes them.
        """
        if spelling not in ("original", "corrected"):
            raise PromptBankError(f"'spelling' must be 'original' or 'corrected'. Got {spelling!r} instead.")
        return cls(name="report" if spelling == "original" else "report-corrected")

    @classmethod
    def openai_fer2013(cls):
        """OpenAI's FER2013 prompts (6 templates), keyed by FER2013 class names."""
        return cls(name="openai")

    @classmethod
    def baseline(cls, contempt=False):
        """One template, ``"a photo of a {} looking face."``, one adjective per class.

        Parameters
        ----------
        contempt : bool, default=False
            Add the eighth class, ``contempt`` ("contemptuous"): the bank
            ``"baseline-8"``, for AffectNet-8, FERPlus and CK+.
        """
        return cls(name="baseline-8" if contempt else "baseline")

    @classmethod
    def default(cls, contempt=False):
        """The bank used when none is given: the report's best, spelling corrected
        (named ``"default"``).

        Parameters
        ----------
        contempt : bool, default=False
            Add the eighth class, ``contempt`` ("contemptuous", "scornful",
            "sneering", from WordNet): the bank ``"default-8"``, for
            AffectNet-8, FERPlus and CK+.

        Examples
        --------
        >>> PromptBank.default(contempt=True).fit().classes_.tolist()[:3]
        ['angry', 'contempt', 'disgust']
        """
        return cls(name="default-8" if contempt else "default")

    @classmethod
    def gender(cls):
        """The report's second category: female / male."""
        return cls(name="gender")


def as_lists(data):
    """Fresh mutable copies of built-in tuples, so users can edit a bank's params."""
    if isinstance(data, Mapping):
        return {key: list(value) for key, value in data.items()}
    return list(data)
