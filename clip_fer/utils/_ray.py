"""Importing Ray Data, or saying how to install it: nothing else, so that importing
this module imports neither torch nor scikit-learn (the command line starts the
cluster while another thread imports those)."""

__all__ = ["import_ray"]


def import_ray():
    """Import ``ray`` with Ray Data, or say how to install it.

    Returns
    -------
    ray : module
        ``ray``, with ``ray.data`` imported.

    Raises
    ------
    MissingDependencyError
        When Ray Data cannot be imported, with the ``pip install`` command.
    """
    try:
        import ray
        import ray.data
    except ImportError as exc:
        from ..exceptions import MissingDependencyError  # scikit-learn's: only when needed

        raise MissingDependencyError(
            f"clip_fer.distributed needs Ray Data ({exc}). Install it with "
            "`pip install 'clip-fer[ray]'` (ray[data] and pyarrow)."
        ) from exc
    return ray
