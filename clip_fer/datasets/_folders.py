"""``class/*.jpg`` and ``split/class/*.jpg`` folders, as FER2013's JPEG export."""

from pathlib import Path

from ..backends._images import IMAGE_SUFFIXES
from ..exceptions import DatasetError
from ._common import check_split, image_files, make_bunch, select_splits, split_name

__all__ = ["load_image_folder"]


def _subfolders(folder):
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _stray(root, where, files, rule):
    shown = ", ".join(repr(str(p)) for p in files[:3]) + (" ..." if len(files) > 3 else "")
    return DatasetError(
        f"{root} mixes the two layouts: {where} ({shown}). {rule} In a split/class/*.jpg tree "
        "every image must be in a class folder, and in a class/*.jpg folder no class folder "
        f"has subfolders of images. Move the stray file{'s' if len(files) > 1 else ''} into a "
        f"class folder, or remove {'them' if len(files) > 1 else 'it'}."
    )


def _nested_images(folder):
    """The image files one level below ``folder``'s subfolders."""
    return [p for sub in _subfolders(folder) for p in image_files(sub)]


def _check_not_mixed(root, class_files):
    """Refuse a folder where an image would be read without its class, or not at all.

    Every image must sit in a class folder: ``split/stray.jpg`` beside
    ``split/happy/*.jpg`` would make ``split`` read as a class; ``stray.jpg``
    beside the class (or split) folders, ``happy/x/*.jpg`` beside ``sad/*.jpg``
    and ``train/sad/x/*.jpg`` would be left out without a word (a whole class
    could go missing from an evaluation).
    """
    loose = image_files(root) if class_files else []  # no folder at all: "holds no image files"
    if loose:
        raise _stray(root, "image files lie in it, beside its folders", loose, "Such an image has no class.")
    flat = any(class_files.values())  # class/*.jpg
    for folder, files in class_files.items():
        nested = _nested_images(folder)
        if files and nested:
            raise _stray(
                root,
                f"{folder.name!r} holds image files itself and subfolders of images "
                f"({', '.join(repr(s.name) for s in _subfolders(folder) if image_files(s))[:200]})",
                files,
                "Its own images would be read as a class named after it.",
            )
        if flat and nested:
            raise _stray(
                root,
                f"{folder.name!r} holds subfolders of images while other folders hold images directly",
                nested,
                "They would be left out.",
            )
        if not flat:  # split/class/*.jpg: a class folder with subfolders of images
            for class_folder in _subfolders(folder):
                deeper = _nested_images(class_folder)
                if deeper:
                    raise _stray(
                        root,
                        f"class folder {folder.name}/{class_folder.name} holds subfolders of images",
                        deeper,
                        "They would be left out.",
                    )


def load_image_folder(path, split=None):
    """Image paths and labels from a folder of ``class/*.jpg`` or ``split/class/*.jpg``.

    The layout is recognised from the files: image files in the subfolders of
    ``path`` make it a ``class/`` folder (each subfolder a class); otherwise image
    files one level deeper make it a ``split/class/`` tree. Files are those with
    an image suffix (``.jpg``, ``.png``, ...); hidden files and folders, and
    subfolders without images, are skipped.

    Parameters
    ----------
    path : str or path-like
        The folder.
    split : str or list of str, default=None
        For a ``split/class/`` tree, the split folders to read, e.g.
        ``"public_test"`` (``"PublicTest"`` also matches); None reads them all.
        Must be None for a ``class/`` folder.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``images`` (list of str, file paths; what the classifier takes),
        ``target`` (ndarray of str, the class folder of each image),
        ``target_names`` (ndarray of str, the classes found, sorted),
        ``filenames`` (ndarray of str, as ``images``) and ``split`` (ndarray of
        str, each image's split folder; None for a ``class/`` folder). Sorted by
        split, class and file name.

    Raises
    ------
    DatasetError
        If ``path`` is not a folder, holds no images in either layout, mixes
        them (an image beside the class folders of a split, beside the class
        or split folders, or in a subfolder of a class folder: it would be
        read without its class, or left out), or has no split named ``split``.

    Examples
    --------
    >>> data = load_image_folder("../shared/data/fer2013", split="public_test")  # doctest: +SKIP
    >>> len(data.images), data.target_names[:2]                                    # doctest: +SKIP
    (3589, array(['angry', 'disgust'], dtype=object))
    """
    owner = "load_image_folder"
    root = Path(path)
    if not root.is_dir():
        raise DatasetError(
            f"No folder {str(path)!r}; {owner} needs a folder of class/*.jpg or split/class/*.jpg."
        )
    wanted = check_split(split, owner)
    subfolders = _subfolders(root)
    class_files = {folder: image_files(folder) for folder in subfolders}
    _check_not_mixed(root, class_files)
    if any(class_files.values()):
        if wanted is not None:
            raise DatasetError(
                f"{root} is a folder of class/*.jpg without split folders, so "
                f"split={split!r} selects nothing. Pass split=None, or the folder "
                "that holds the split folders."
            )
        trees = {None: class_files}
    else:
        trees = {}
        for folder in subfolders:
            files = {sub: image_files(sub) for sub in _subfolders(folder)}
            if any(files.values()):
                trees[folder.name] = files
        if not trees:
            raise DatasetError(
                f"{root} holds no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) in "
                "class/ or split/class/ subfolders."
            )
        if wanted is not None:
            by_name = {split_name(name): name for name in trees}
            select_splits(wanted, by_name, str(root))
            trees = {by_name[name]: trees[by_name[name]] for name in wanted}

    paths, target, splits = [], [], []
    for split_folder, classes in trees.items():
        for class_folder, files in classes.items():
            paths.extend(str(p) for p in files)
            target.extend([class_folder.name] * len(files))
            splits.extend([split_folder] * len(files))
    return make_bunch(paths, target, sorted(set(target)), paths, None if None in trees else splits)
