"""How a fitted classifier shows itself in a notebook: what the fit holds, above
scikit-learn's estimator diagram (which is kept as it is)."""

import html

__all__ = ["fitted_summary", "with_fitted_summary"]

_MAX_CLASSES_SHOWN = 12


def fitted_summary(estimator):
    """(label, value) pairs describing a fitted ``ZeroShotEmotionClassifier``, or
    ``None`` when it is not fitted."""
    bank = getattr(estimator, "prompt_bank_", None)
    if bank is None or not hasattr(estimator, "classes_"):
        return None
    classes = [str(c) for c in estimator.classes_]
    shown = ", ".join(classes[:_MAX_CLASSES_SHOWN])
    if len(classes) > _MAX_CLASSES_SHOWN:
        shown += f", ... ({len(classes) - _MAX_CLASSES_SHOWN} more)"
    model = estimator.model if isinstance(estimator.model, str) else str(estimator.model)
    n_sentences, dim = estimator.text_features_.shape
    return [
        ("model", f"{model} (device {estimator.device}, precision {estimator.precision})"),
        (
            "prompt bank",
            (f"{bank.name}: " if isinstance(getattr(bank, "name", None), str) else "")
            + f"{len(bank.templates_)} templates x {len(bank.words_)} words = "
            f"{n_sentences} sentences, {dim}-d text features",
        ),
        ("synonym folder", repr(estimator.synonym_folder_)),
        ("decider", repr(estimator.decider_)),
        (f"classes ({len(classes)})", shown),
    ]


def with_fitted_summary(estimator, bundle):
    """A copy of an sklearn mime bundle with the fit's summary added: a small table
    above the HTML diagram, and lines after the plain-text repr."""
    rows = fitted_summary(estimator)
    if rows is None:
        return bundle
    bundle = dict(bundle)
    if "text/html" in bundle:
        cells = "".join(
            f"<tr><th style='text-align:left;padding-right:1em'>{html.escape(k)}</th>"
            f"<td style='text-align:left'>{html.escape(v)}</td></tr>"
            for k, v in rows
        )
        bundle["text/html"] = (
            f"<div class='clip-fer-summary'><table>{cells}</table></div>" + bundle["text/html"]
        )
    if "text/plain" in bundle:
        bundle["text/plain"] += "".join(f"\n# {k}: {v}" for k, v in rows)
    return bundle
