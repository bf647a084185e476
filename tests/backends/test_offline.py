"""Failing fast offline: the reachability probe and the remembered failed loads.

No test waits on a real network timeout: the probe's connection is replaced
(``_offline._connect``) and its timeout shortened.
"""

import time
import urllib.request

import pytest

from clip_fer import clear_model_cache
from clip_fer.backends import _offline
from clip_fer.backends._loading import load_model
from clip_fer.exceptions import ModelLoadError


@pytest.fixture
def probes(monkeypatch):
    """Record the probes' connections; each one fails as a network-less machine's would."""
    calls = []

    def refuse(host, port, timeout):
        calls.append((host, port))
        raise OSError("Name or service not known")

    monkeypatch.setattr(_offline, "_connect", refuse)
    monkeypatch.setattr(_offline, "PROBE_TIMEOUT", 0.5)
    _offline.forget()
    yield calls
    _offline.forget()


def test_probe_says_why_a_host_fails(probes):
    reason = _offline.unreachable("example.invalid", 443)
    assert "example.invalid:443 cannot be reached" in reason and "Name or service" in reason
    assert _offline.unreachable("example.invalid", 443) == reason
    assert probes == [("example.invalid", 443)]  # asked once per process


def test_probe_that_hangs_gives_up_at_its_timeout(monkeypatch):
    monkeypatch.setattr(_offline, "_connect", lambda host, port, timeout: time.sleep(5))
    monkeypatch.setattr(_offline, "PROBE_TIMEOUT", 0.1)
    _offline.forget()
    start = time.perf_counter()
    reason = _offline.unreachable("slow.invalid", 443)
    assert time.perf_counter() - start < 2
    assert reason == "no answer from slow.invalid:443 within 0.1 s"
    _offline.forget()


def test_probe_of_a_host_that_answers(monkeypatch):
    monkeypatch.setattr(_offline, "_connect", lambda host, port, timeout: None)
    _offline.forget()
    assert _offline.unreachable("up.invalid", 443) is None
    _offline.forget()


def test_hub_offline_mode_only_while_the_hub_does_not_answer(probes, monkeypatch):
    constants = pytest.importorskip("huggingface_hub.constants")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    with _offline.hub_offline(needed=False):
        assert constants.HF_HUB_OFFLINE is False
    assert probes == []  # a local folder probes nothing
    with _offline.hub_offline():
        assert constants.HF_HUB_OFFLINE is True
    assert constants.HF_HUB_OFFLINE is False
    assert probes == [_offline.HF_HUB]


def test_hub_offline_setting_is_honoured_without_probing(probes, monkeypatch):
    constants = pytest.importorskip("huggingface_hub.constants")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with _offline.hub_offline():
        assert constants.HF_HUB_OFFLINE is True
    assert constants.HF_HUB_OFFLINE is True and probes == []


def test_openai_name_fails_at_once_without_a_download(probes, monkeypatch, tmp_path):
    def no_download(*args, **kwargs):
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(urllib.request, "urlopen", no_download)
    with pytest.raises(ModelLoadError, match="'ViT-B/32' could not be downloaded.*cannot be reached"):
        load_model("ViT-B/32", device="cpu", download_root=str(tmp_path))
    assert probes == [("openaipublic.azureedge.net", 443)]


def test_a_failed_load_is_remembered_until_the_cache_is_cleared(probes, tmp_path):
    with pytest.raises(ModelLoadError) as first:
        load_model("ViT-B/32", device="cpu", download_root=str(tmp_path))
    with pytest.raises(ModelLoadError) as second:
        load_model("ViT-B/32", device="cpu", download_root=str(tmp_path))
    assert str(second.value) == str(first.value)
    assert "not tried again" in second.value.__notes__[0]
    assert len(probes) == 1
    clear_model_cache()
    with pytest.raises(ModelLoadError):
        load_model("ViT-B/32", device="cpu", download_root=str(tmp_path))
    assert len(probes) == 2  # tried again after clear_model_cache


def test_load_once_calls_the_loader_once_per_failure():
    calls = []

    def load():
        calls.append(1)
        raise ModelLoadError("cannot")

    for _ in range(3):
        with pytest.raises(ModelLoadError) as raised:
            _offline.load_once("key", load)
        assert str(raised.value) == "cannot"
    assert calls == [1]
    _offline.forget()
    assert _offline.load_once("key", lambda: "model") == "model"


def test_other_errors_are_not_remembered():
    calls = []

    def load():
        calls.append(1)
        raise MemoryError

    for _ in range(2):
        with pytest.raises(MemoryError):
            _offline.load_once("other", load)
    assert calls == [1, 1]


def test_hf_hub_name_fails_at_once_when_the_hub_does_not_answer(probes, monkeypatch):
    constants = pytest.importorskip("huggingface_hub.constants")
    pytest.importorskip("transformers")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    start = time.perf_counter()
    with pytest.raises(ModelLoadError, match="could not be loaded.*Without network access"):
        load_model("hf_clip:nobody-here/no-such-model", device="cpu")
    assert time.perf_counter() - start < 20  # not the Hub client's retries
    assert probes == [_offline.HF_HUB] and constants.HF_HUB_OFFLINE is False


def test_open_clip_tag_fails_before_building_the_model(probes, monkeypatch):
    open_clip = pytest.importorskip("open_clip")
    constants = pytest.importorskip("huggingface_hub.constants")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)

    def no_build(*args, **kwargs):
        raise AssertionError("the model was built before its weights were found")

    monkeypatch.setattr(open_clip, "create_model_and_transforms", no_build)
    with pytest.raises(ModelLoadError, match="could not be loaded.*If it needs a download"):
        load_model("open_clip:ViT-B-32/laion2b_s34b_b79k", device="cpu", download_root="/nonexistent-cache")
    assert probes == [_offline.HF_HUB]


def test_behind_a_proxy_nothing_is_probed(probes, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert _offline.unreachable("huggingface.co", 443) is None
    assert probes == []
    monkeypatch.setenv("NO_PROXY", "huggingface.co")
    assert _offline.unreachable("huggingface.co", 443) is not None  # bypassed: probed
    assert probes == [("huggingface.co", 443)]
