import json
from pathlib import Path

import numpy as np
import pytest
import torch

import wavesr
from wavesr import pretrained
from wavesr.errors import WavesrError
from wavesr.models import build_model, save_model


def tiny_unet(ratio: int = 4):
    torch.manual_seed(ratio)
    return build_model("audiounet", ratio=ratio, blocks=2, filters=[4, 8], kernel_sizes=[5, 3], dropout=0.0)


@pytest.fixture
def registry(tmp_path, monkeypatch):
    """A registry folder with a tiny x4 speech model and an x2 piano model, as $WAVESR_PRETRAINED."""
    folder = tmp_path / "registry"
    for ratio, name, content in ((4, "speech-x4", "speech"), (2, "piano-x2", "piano")):
        save_model(tiny_unet(ratio), tmp_path / f"{name}.pt")
        pretrained.add_model(
            tmp_path / f"{name}.pt",
            name,
            content,
            registry=folder,
            recipe="wavesr train ...",
            scores={"snr": 17.25, "cubic_snr": 16.5, "lsd": 3.1, "cubic_lsd": 7.6},
        )
    monkeypatch.setenv(pretrained.REGISTRY_ENV, str(folder))
    return folder


def test_shipped_registry_is_valid_and_every_model_verifies():
    models = pretrained.available_models(Path(pretrained.__file__).parent)
    for info in models:  # empty until weights are shipped
        assert pretrained.verify(info) == info.path
        assert (info.folder / info.card).is_file()


def test_add_and_list(registry):
    models = wavesr.available_models()
    assert [m.name for m in models] == ["piano-x2", "speech-x4"]
    m = models[1]
    assert (m.ratio, m.sr, m.content, m.network, m.sr_lowres) == (4, 16000, "speech", "audiounet", 4000.0)
    assert m.file == f"speech-x4-{m.sha256[:8]}.pt" and m.path.is_file() and m.params > 0
    assert m.scores_text() == "SNR 17.25 dB (cubic 16.50), LSD 3.10 (cubic 7.60)"
    card = (registry / m.card).read_text()
    assert "# speech-x4" in card and "x4, 4000 Hz -> 16000 Hz" in card and "wavesr train ..." in card
    index = json.loads((registry / "registry.json").read_text())
    assert index["format"] == "wavesr-pretrained" and set(index["models"]) == {"speech-x4", "piano-x2"}
    with pytest.raises(WavesrError, match="already in"):
        pretrained.add_model(m.path, "speech-x4", "speech", registry=registry)


def test_load_by_name_gives_the_saved_network(registry, rng):
    model = wavesr.load_model("speech-x4")
    x = torch.from_numpy(rng.standard_normal((1, 1, 100)).astype(np.float32))
    with torch.no_grad():
        assert torch.equal(model(x), tiny_unet(4).eval()(x))
    assert not model.training and model.ratio == 4


def test_load_by_path_and_run_folder(tmp_path):
    run = tmp_path / "run"
    save_model(tiny_unet(2), run / "last.pt")
    assert pretrained.load_model(run).ratio == 2  # no best.pt: falls back to last.pt
    save_model(tiny_unet(4), run / "best.pt")
    assert pretrained.load_model(run).ratio == 4  # best.pt first
    assert pretrained.load_model(run / "last.pt").ratio == 2
    with pytest.raises(WavesrError, match="folder has no checkpoint"):
        pretrained.load_model(tmp_path)
    with pytest.raises(WavesrError, match="neither a pretrained model name"):
        pretrained.load_model("no-such-model")


def test_pick_model(registry):
    assert wavesr.pick_model(4).name == "speech-x4"
    assert wavesr.pick_model(2, "piano").name == "piano-x2"
    with pytest.raises(WavesrError, match=r"no pretrained model for x2 speech \(shipped: piano-x2"):
        wavesr.pick_model(2, "speech")
    with pytest.raises(WavesrError, match="content must be one of"):
        wavesr.pick_model(4, "podcast")


def test_default_model_of_the_shipped_registry():
    """What ``wavesr upsample`` and ``wavesr stream`` take when no model is named."""
    pick = pretrained.default_model
    assert pick("speech", 8000) == "speech-48k" and pick("music", 44100, measured=True) == "music-48k"
    assert pick("speech", 8000, ratio=4) == "speech-x4" and pick("piano", 4000, ratio=4) == "piano-x4"
    assert pick("piano", 4000) == "piano-x4"  # asked for: the paper's piano model (no full-band one)
    assert pick("piano", 4000, measured=True) == "speech-48k"  # measured: the full-band model


def test_default_model_without_full_band_models(registry):
    assert pretrained.default_model("speech", 4000) == "speech-x4"
    assert pretrained.default_model("piano", 8000) == "piano-x2"
    assert pretrained.default_model("music", 8000, measured=True) == "speech-x4"  # none for music: speech's
    with pytest.raises(WavesrError, match="no pretrained music model is shipped"):
        pretrained.default_model("music", 8000)


def test_a_stream_takes_a_live_model_first(tmp_path):
    folder = tmp_path / "reg"
    for name, causal in (("speech-48k", False), ("speech-48k-live", True)):
        model = build_model("band", width=8, blocks=1, n_fft=256, hop=64, causal=causal)
        save_model(model, tmp_path / f"{name}.pt")
        info = pretrained.add_model(tmp_path / f"{name}.pt", name, "speech", registry=folder)
        assert info.live == causal
    pick = pretrained.default_model
    assert pick("speech", 8000, registry=folder) == "speech-48k"  # files: the offline model
    assert pick("speech", 8000, registry=folder, live=True) == "speech-48k-live"
    assert pick("music", 8000, measured=True, registry=folder, live=True) == "speech-48k-live"


def test_damaged_model_file_is_one_clear_error(registry):
    info = pretrained.get_model_info("speech-x4")
    data = bytearray(info.path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    info.path.write_bytes(bytes(data))
    with pytest.raises(WavesrError) as e:
        pretrained.load_model("speech-x4")
    assert "speech-x4" in str(e.value) and "damaged" in str(e.value) and "\n" not in str(e.value)
    info.path.unlink()
    with pytest.raises(WavesrError, match="is missing"):
        pretrained.load_model("speech-x4")


def test_registry_that_disagrees_with_its_file(registry):
    index = json.loads((registry / "registry.json").read_text())
    index["models"]["speech-x4"]["ratio"] = 8
    (registry / "registry.json").write_text(json.dumps(index))
    with pytest.raises(WavesrError, match="registry says x8"):
        pretrained.load_model("speech-x4")


def test_malformed_registry(tmp_path):
    (tmp_path / "registry.json").write_text('{"models": []}')
    with pytest.raises(WavesrError, match="not a wavesr model registry"):
        pretrained.available_models(tmp_path)
    assert pretrained.available_models(tmp_path / "nothing-here") == []


def test_registry_passes_and_training_channel(registry, tmp_path, rng):
    model = wavesr.load_model("speech-x4")
    assert model.passes == 1 and model.channel is None  # a hand-made network: no training channel to match
    index = json.loads((registry / "registry.json").read_text())
    del index["models"]["speech-x4"]["channel"]
    (registry / "registry.json").write_text(json.dumps(index))
    assert wavesr.load_model("speech-x4").channel == "decimate"  # entries from before the field: the paper's
    save_model(tiny_unet(4), tmp_path / "e.pt")
    info = pretrained.add_model(tmp_path / "e.pt", "ens-x4", "speech", registry=registry, passes=4)
    assert info.passes == 4 and "self-ensemble of 4 passes" in (registry / info.card).read_text()
    scored = pretrained.add_model(
        tmp_path / "e.pt",
        "real-x4",
        "speech",
        registry=registry,
        scores={"snr": 17.0, "cubic_snr": 16.5, "real_snr": 18.0, "real_cubic_snr": 17.75, "real_lsd": 3.0},
    )
    assert (
        scored.scores_text()
        == "SNR 17.00 dB (cubic 16.50); real low-rate input: SNR 18.00 dB (cubic 17.75), LSD 3.00"
    )
    assert wavesr.load_model("ens-x4").passes == 4
    with pytest.raises(WavesrError, match="passes must be one of"):
        pretrained.add_model(tmp_path / "e.pt", "bad-x4", "speech", registry=registry, passes=3)
    index = json.loads((registry / "registry.json").read_text())
    index["models"]["ens-x4"]["passes"] = 5
    (registry / "registry.json").write_text(json.dumps(index))
    with pytest.raises(WavesrError, match="'ens-x4' has passes 5"):
        wavesr.available_models()


def test_checkpoints_name_their_training_channel(tmp_path):
    from wavesr.models.base import load_model_file, read_checkpoint, training_channel

    model = tiny_unet(4)
    save_model(model, tmp_path / "plain.pt")  # a hand-made network: trained on nothing known
    assert load_model_file(tmp_path / "plain.pt").channel is None
    save_model(model.run_as(channel="sinc"), tmp_path / "sinc.pt")
    assert read_checkpoint(tmp_path / "sinc.pt")["config"]["channel"] == "sinc"
    assert load_model_file(tmp_path / "sinc.pt").channel == "sinc"
    # checkpoints from before the entry: the training data's settings tell, else prepare's default
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "settings.json").write_text(json.dumps({"method": "telephone"}))
    assert training_channel({"train_config": {"data": str(tmp_path / "data")}}) == "telephone"
    assert training_channel({"training": {"config": {"data": str(tmp_path / "gone")}}}) == "decimate"
    assert training_channel({}) is None
    # a run that rebuilt a share of its inputs with another method has seen both channels
    assert (
        training_channel({"degrade": "decimate", "train_config": {"mix_channel": "sinc"}}) == "decimate+sinc"
    )
    assert (
        training_channel({"degrade": "decimate+sinc", "train_config": {"mix_channel": "sinc"}})
        == "decimate+sinc"
    )


def test_files_of_the_older_formats_are_read_with_their_run_settings(tmp_path):
    """Format 1 kept the training channel and the strength beside the config; registries of format 1
    named the channel ``degrade``. Both are read as today's, and today's writers write the new names."""
    from wavesr.models.base import FORMAT_VERSION, load_model_file, read_checkpoint

    model = tiny_unet(4).run_as(channel="sinc", strength=0.5)
    save_model(model, tmp_path / "new.pt")
    new = read_checkpoint(tmp_path / "new.pt")
    assert new["format_version"] == FORMAT_VERSION == 2 and "degrade" not in new
    assert (new["config"]["channel"], new["config"]["passes"], new["config"]["strength"]) == ("sinc", 1, 0.5)
    old = {k: v for k, v in new.items() if k != "config"}
    old["config"] = {k: v for k, v in new["config"].items() if k not in ("channel", "passes", "strength")}
    torch.save({**old, "format_version": 1, "degrade": "telephone", "strength": 0.25}, tmp_path / "old.pt")
    loaded = load_model_file(tmp_path / "old.pt")
    assert (loaded.channel, loaded.passes, loaded.strength) == ("telephone", 1, 0.25)
    assert load_model_file(tmp_path / "old.pt", passes=4).passes == 4  # a registry entry's setting wins
    with pytest.raises(WavesrError, match="passes must be one of"):
        load_model_file(tmp_path / "old.pt", passes=3)
    with pytest.raises(TypeError, match="run settings"):
        load_model_file(tmp_path / "old.pt", ratio=2)
    with pytest.raises(WavesrError, match="passes must be one of"):
        tiny_unet(4).run_as(passes=5)
    # a registry of format 1: "degrade" read as the channel, rewritten as "channel" by the next add
    folder = tmp_path / "registry"
    pretrained.add_model(tmp_path / "new.pt", "a-x4", "speech", registry=folder)
    index = json.loads((folder / "registry.json").read_text())
    assert index["format_version"] == 2 and index["models"]["a-x4"]["channel"] == "sinc"
    entry = index["models"]["a-x4"]
    index["models"]["a-x4"] = {**{k: v for k, v in entry.items() if k != "channel"}, "degrade": "telephone"}
    (folder / "registry.json").write_text(json.dumps({**index, "format_version": 1}))
    assert pretrained.get_model_info("a-x4", folder).channel == "telephone"
    assert pretrained.load_model("a-x4", registry=folder).channel == "telephone"
    pretrained.add_model(tmp_path / "new.pt", "b-x4", "speech", registry=folder)
    index = json.loads((folder / "registry.json").read_text())
    assert index["format_version"] == 2 and index["models"]["a-x4"]["channel"] == "telephone"
    assert all("degrade" not in e for e in index["models"].values())
