"""Declared parameter constraints: scikit-learn's checks, clip-fer's messages."""

from numbers import Integral, Real

import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError as SklearnInvalidParameterError

from clip_fer import RankVoteDecider, SynonymFolder, ZeroShotEmotionClassifier, load_model
from clip_fer.exceptions import ClipFerError, InvalidParameterError
from clip_fer.utils._param_validation import Choices, Protocol, validate_parameter_constraints
from clip_fer.utils._sklearn_compat import Interval


def message(constraints, value):
    with pytest.raises(InvalidParameterError) as info:
        validate_parameter_constraints({"x": constraints}, {"x": value}, "Owner")
    return str(info.value)


@pytest.mark.parametrize(
    "constraints, value, expected",
    [
        ([Interval(Integral, 1, None, closed="left")], 0, "an int in [1, inf]. Got 0 instead."),
        ([Interval(Integral, 1, None, closed="left")], True, "an int in [1, inf]. Got True instead."),
        ([Interval(Integral, 1, None, closed="left")], 2.0, "an int in [1, inf]. Got 2.0 instead."),
        ([Interval(Real, 0, 1, closed="neither")], 1, "a float in (0, 1). Got 1 instead."),
        ([Interval(Real, 0, 2, closed="both")], -0.5, "a float in [0, 2]. Got -0.5 instead."),
        ([Interval(Real, 0, np.inf, closed="neither")], np.inf, "a finite float > 0. Got inf instead."),
        ([Interval(Real, 0, np.inf, closed="neither")], float("nan"), "a finite float > 0. Got nan instead."),
        ([Choices("sum", "mean")], "SUM", "one of 'sum', 'mean'. Got 'SUM' instead."),
        (
            [None, Choices("auto"), Interval(Integral, 0, None, closed="left")],
            -1,
            "None, 'auto' or an int in [0, inf]. Got -1 instead.",
        ),
        (["boolean"], "yes", "a bool. Got 'yes' instead."),
        ([None, str], 3, "None or a str. Got int instead."),
    ],
)
def test_messages_follow_one_form(constraints, value, expected):
    assert message(constraints, value) == f"The 'x' parameter of Owner must be {expected}"


def test_valid_values_pass_including_numpy_scalars():
    constraints = {
        "n": [Interval(Integral, 1, None, closed="left")],
        "f": [Interval(Real, 0, 1, closed="both")],
        "b": ["boolean"],
        "s": [Choices("a", "b")],
    }
    validate_parameter_constraints(
        constraints, {"n": np.int64(3), "f": np.float32(0.5), "b": np.bool_(True), "s": "b"}, "O"
    )


def test_protocol_names_our_classes_then_the_protocol():
    protocol = Protocol(["fit", "fold"], (SynonymFolder,), "a folder", "fit() and fold(...)")

    class HalfFolder:
        def fit(self):
            return self

    assert message([None, protocol], HalfFolder()) == (
        "The 'x' parameter of Owner must be None or an instance of SynonymFolder. Got HalfFolder "
        "instead (it lacks fold()); a folder may also be any object with fit() and fold(...)."
    )


def test_our_error_is_also_scikit_learns_and_a_value_error():
    clf = ZeroShotEmotionClassifier(batch_size=0)
    for kind in (InvalidParameterError, SklearnInvalidParameterError, ValueError, ClipFerError):
        with pytest.raises(
            kind,
            match=r"The 'batch_size' parameter of ZeroShotEmotionClassifier must be an int in \[1, inf\]\. Got 0 instead\.",
        ):
            clf.fit()


def test_every_parameter_of_every_estimator_is_declared():
    from clip_fer import BlazeFaceDetector, FaceCropper, MeanProbaDecider

    for cls in (
        ZeroShotEmotionClassifier,
        RankVoteDecider,
        MeanProbaDecider,
        SynonymFolder,
        FaceCropper,
        BlazeFaceDetector,
    ):
        assert set(cls._parameter_constraints) == set(cls().get_params(deep=False)), cls.__name__


@pytest.mark.parametrize(
    "params, match",
    [
        (
            {"cache_dir": 3},
            r"The 'cache_dir' parameter of ZeroShotEmotionClassifier must be None or a folder path \(str or path-like\)\. Got 3 instead\.",
        ),
        ({"download_root": ["x"]}, r"The 'download_root' parameter .* Got list instead\."),
        (
            {"on_error": "ignore"},
            r"The 'on_error' parameter .* must be one of 'raise', 'skip'\. Got 'ignore' instead\.",
        ),
        (
            {"num_workers": "many"},
            r"must be an int in \[0, inf\]\. Got 'many' instead; 'auto' is also accepted",
        ),
        (
            {"verbose": 1},
            r"The 'verbose' parameter of ZeroShotEmotionClassifier must be a bool\. Got 1 instead\.",
        ),
        (
            {"device": "gpu please"},
            r"The 'device' parameter of ZeroShotEmotionClassifier must be 'auto' or a torch device",
        ),
    ],
)
def test_classifier_parameters(toy_checkpoint, params, match):
    with pytest.raises(InvalidParameterError, match=match):
        ZeroShotEmotionClassifier(model=toy_checkpoint, **params).fit()


def test_load_model_names_itself_not_the_classifier(toy_checkpoint):
    with pytest.raises(
        InvalidParameterError, match=r"^The 'device' parameter of load_model must be 'auto' or a torch device"
    ):
        load_model(toy_checkpoint, device="gpu please")
    with pytest.raises(
        InvalidParameterError, match=r"^The 'precision' parameter of load_model must be one of"
    ):
        load_model(toy_checkpoint, precision="int4")
    with pytest.raises(
        InvalidParameterError, match=r"^The 'model' parameter of load_model must be a CLIP model name"
    ):
        load_model(3)


def test_folder_is_deprecated_for_synonym_folder(toy_checkpoint, face_arrays):
    new = ZeroShotEmotionClassifier(model=toy_checkpoint, synonym_folder=SynonymFolder("max")).fit()
    with pytest.warns(
        FutureWarning,
        match="The 'folder' parameter of ZeroShotEmotionClassifier was renamed 'synonym_folder'",
    ):
        old = ZeroShotEmotionClassifier(model=toy_checkpoint, folder=SynonymFolder("max")).fit()
    np.testing.assert_array_equal(old.predict_proba(face_arrays), new.predict_proba(face_arrays))
    assert old.folder_ is old.synonym_folder_ and old.synonym_folder_.reduce == "max"
    with pytest.raises(InvalidParameterError, match="got both 'folder' and 'synonym_folder'"):
        ZeroShotEmotionClassifier(
            model=toy_checkpoint, folder=SynonymFolder(), synonym_folder=SynonymFolder()
        ).fit()
    assert ZeroShotEmotionClassifier().get_params()["folder"] == "deprecated"


class _StubNet:
    """Stands in for the LiteRT interpreter: finds nothing."""

    side = 128
    tiled = False  # the window scan
    spec = {"band": (0.25, 0.6), "reframe": (0.3,)}

    def scan_level_windows(self, image, scale, top):
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)


def test_detector_parameters_are_checked_on_every_detect(monkeypatch):
    from PIL import Image

    from clip_fer import BlazeFaceDetector

    detector = BlazeFaceDetector()
    monkeypatch.setattr(detector, "_net", lambda: _StubNet())
    image = Image.new("RGB", (64, 64))
    assert detector.detect(image) == []
    detector.set_params(min_score=1.5)  # after a first detect, with the net already built
    with pytest.raises(
        InvalidParameterError,
        match=r"The 'min_score' parameter of BlazeFaceDetector must be a float in \(0, 1\)\. Got 1\.5",
    ):
        detector.detect(image)


def test_detector_model_of_a_wrong_type_is_named():
    from PIL import Image

    from clip_fer import BlazeFaceDetector

    with pytest.raises(
        InvalidParameterError,
        match=(
            r"^The 'model' parameter of BlazeFaceDetector must be 'short_range', 'full_range' or the path "
            r"of a BlazeFace \.tflite file\. Got int instead\.$"
        ),
    ):
        BlazeFaceDetector(model=3).detect(Image.new("RGB", (64, 64)))


def test_litert_banner_is_dropped_and_everything_else_kept(capfd):
    import os

    from clip_fer.faces._detectors import _litert_banner_dropped

    with _litert_banner_dropped():
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
        os.write(2, b"another thread's line\n")
    err = capfd.readouterr().err
    assert err == "another thread's line\n"
    with pytest.raises(RuntimeError), _litert_banner_dropped():
        os.write(2, b"why it failed\n")
        raise RuntimeError
    assert capfd.readouterr().err == "why it failed\n"
