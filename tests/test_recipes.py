"""Recipes: the registry entry and model card a recipe ships (training itself is in test_train)."""

import dataclasses
import json

import numpy as np
import pytest
import torch

import wavesr
from wavesr.errors import WavesrError
from wavesr.models.base import build_model, save_model
from wavesr.recipes import RECIPES, WEIGHTS, check_data, check_run, get_recipe, model_card, ship_model, vary
from wavesr.train import TrainConfig


def _record(recipe):
    row = lambda snr, lsd: {"snr": snr, "lsd": lsd, "lsd_standard": lsd / 3, "lsd_hf": lsd / 2, "files": 7}
    return {
        "scores": {"cubic": row(15.0, 8.0), "bandlimited": row(15.5, 9.0), recipe.network: row(16.0, 4.0)},
        "train_seconds": 600.0,
        "hardware": "x86_64, CPU",
        "corpus": {
            "name": recipe.corpus,
            **{s: {"files": 3, "seconds": 3600.0, "groups": 2} for s in ("train", "val", "test")},
        },
        "licences": ["GPL-2"],
        "sources": ["klettres-data"],
    }


def test_every_shipped_name_of_the_issue_has_a_recipe():
    assert {"speech-x2", "speech-x4", "speech-x6", "speech-x8", "piano-x4", "music-x4"} <= set(RECIPES)
    assert all(r.name.endswith(f"x{r.ratio}") for r in RECIPES.values())
    with pytest.raises(WavesrError, match="unknown recipe"):
        get_recipe("speech-x5")


def test_model_card_lists_data_recipe_time_and_scores():
    recipe = get_recipe("speech-x4")
    card = model_card(recipe, _record(recipe), params=1234)
    for text in (
        "wavesr recipe speech-x4",
        "1,234 parameters",
        "GPL-2",
        "10.0 min",
        "| cubic | 15.00 | 8.00",
        "0.50x",
        "+1.00 dB",
        "4000 Hz -> 16000 Hz",
    ):
        assert text in card, text
    assert "weight average 0.999" in card and "ships the final weights (their average)" in card
    raw = dataclasses.replace(recipe, weights="raw")
    assert "ships the final weights (not their average)" in model_card(raw, _record(raw), params=1234)
    piano = get_recipe("piano-x4")
    assert "ships the checkpoint with the lowest LSD" in model_card(piano, _record(piano), params=1234)
    x6 = get_recipe("speech-x6")
    assert "ships the final weights." in model_card(x6, _record(x6), params=1234)
    for recipe in RECIPES.values():  # every recipe names weights a run has
        assert recipe.weights in WEIGHTS and (recipe.weights != "raw" or recipe.ema)


def test_the_card_and_the_registry_carry_real_input_scores_and_passes(tmp_path):
    recipe = dataclasses.replace(get_recipe("speech-x2"), passes=4)
    record = _record(recipe)
    row = lambda snr, lsd: {"snr": snr, "lsd": lsd, "lsd_standard": lsd / 3, "lsd_hf": lsd / 2, "files": 7}  # noqa: E731
    record["scores_real"] = {"cubic": row(17.0, 6.0), "bandlimited": row(17.5, 8.0), "fast": row(17.25, 3.0)}
    card = model_card(recipe, record, params=1234)
    assert "## Held-out scores on real low-rate audio" in card and "| fast | 17.25 | 3.00" in card
    assert "SNR gain over cubic: +0.25 dB" in card and "self-ensemble of 4 passes" in card
    ckpt = save_model(build_model("fast", ratio=2, widths=[8, 8, 8, 8]), tmp_path / "model.pt")
    ship_model(recipe, ckpt, record, registry=tmp_path / "reg")
    entry = json.loads((tmp_path / "reg" / "registry.json").read_text())["models"]["speech-x2"]
    assert (entry["passes"], entry["scores"]["real_snr"], entry["scores"]["real_cubic_lsd"]) == (
        4,
        17.25,
        6.0,
    )
    assert entry["channel"] == "decimate"  # the recipe's channel, though this hand-made checkpoint names none
    first = entry["file"]
    ship_model(recipe, ckpt, _record(recipe), registry=tmp_path / "reg")  # the same weights: the file stays
    assert (
        json.loads((tmp_path / "reg" / "registry.json").read_text())["models"]["speech-x2"]["file"] == first
    )


def test_the_telephone_recipe_trains_and_tests_through_a_telephone_channel():
    phone = get_recipe("telephone-x2")
    assert (phone.corpus, phone.content, phone.ratio, phone.channel) == (
        "speech",
        "telephone",
        2,
        "telephone",
    )
    assert "telephone degradation" in model_card(phone, _record(phone), params=1234)
    assert all(r.channel == "decimate" for r in RECIPES.values() if r is not phone)


def test_patches_prepared_otherwise_are_refused(tmp_path, rng):
    import soundfile as sf

    from wavesr.data.corpus import Item
    from wavesr.data.patches import PrepareConfig, prepare

    sf.write(tmp_path / "a.wav", 0.3 * rng.standard_normal(20000).astype(np.float32), 16000)
    items = [Item(path=str(tmp_path / "a.wav"), split="train", group="a", duration=1.25)]
    cfg = PrepareConfig(ratio=2, channel="telephone", patch_len=4096, workers=0)
    data = prepare(items, tmp_path / "data", cfg, progress=False)
    check_data(data, dataclasses.replace(cfg, workers=2))  # the same patches, however many workers made them
    with pytest.raises(WavesrError, match=r"other settings than the recipe's \(channel\)"):
        check_data(data, dataclasses.replace(cfg, channel="decimate"))


def test_a_work_folder_trained_otherwise_is_refused(tmp_path):
    cfg = TrainConfig(data="d/train", out=str(tmp_path), stft_weight=3e-5, max_minutes=20.0)
    check_run(tmp_path, cfg)  # nothing trained there yet
    stored = dataclasses.asdict(cfg)
    stored.pop("ema")  # written before the option existed: its default is assumed
    (tmp_path / "config.json").write_text(json.dumps({"train": stored}))
    check_run(tmp_path, cfg)
    with pytest.raises(WavesrError, match=r"other settings than the recipe's \(max_minutes, stft_weight\)"):
        check_run(tmp_path, dataclasses.replace(cfg, stft_weight=1e-4, max_minutes=40.0))


def test_ship_model_puts_slim_weights_into_a_registry(tmp_path):
    recipe = get_recipe("speech-x4")
    ckpt = tmp_path / "best.pt"
    save_model(
        build_model("spline", ratio=4), ckpt, extra={"training": {"optimizer": {"big": list(range(10))}}}
    )
    ship_model(recipe, ckpt, _record(recipe), registry=tmp_path / "reg")
    index = json.loads((tmp_path / "reg" / "registry.json").read_text())
    entry = index["models"]["speech-x4"]
    assert (
        entry["ratio"] == 4 and entry["content"] == "speech" and entry["recipe"] == "wavesr recipe speech-x4"
    )
    assert entry["scores"]["lsd"] == 4.0 and entry["scores"]["cubic_lsd"] == 8.0
    assert "| cubic |" in (tmp_path / "reg" / entry["card"]).read_text()
    shipped = torch.load(tmp_path / "reg" / entry["file"], weights_only=True)
    assert "training" not in shipped and shipped["recipe"] == "speech-x4"  # no optimizer state shipped
    model = wavesr.load_model("speech-x4", registry=tmp_path / "reg")
    out, sr = model.upsample(np.zeros(400, dtype=np.float32), 4000)
    assert sr == 16000 and out.shape == (1600,)


def test_recipe_list_names_the_settings_and_the_shipped_weights(capsys):
    from wavesr.cli import main as cli

    assert cli(["recipe", "--list"]) == 0
    from wavesr.fullband_recipes import FULLBAND_RECIPES

    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert set(lines) == set(RECIPES) | set(FULLBAND_RECIPES)
    assert "any rate -> 48000 Hz" in lines["speech-48k"] and "waveform weight" in lines["speech-48k"]
    assert "weight 0.0001" in lines["speech-x6"] and "40 min" in lines["speech-x6"]
    assert lines["speech-x6"].endswith("ships model.pt (final)")
    assert "telephone degradation" in lines["telephone-x2"] and "not shipped" in lines["telephone-x2"]
    assert "passes" not in lines["speech-x4"] and "passes" not in lines["speech-x6"]


def test_a_candidate_varies_training_settings_only_and_is_not_shipped():
    x4 = get_recipe("speech-x4")
    before = dataclasses.replace(x4)
    cand = vary(x4, {"stft_weight": 3e-4, "minutes": 40, "weights": "raw", "ema": "0", "passes": 2})
    assert (cand.stft_weight, cand.minutes, cand.weights, cand.ema, cand.passes) == (
        3e-4,
        40.0,
        "raw",
        0.0,
        2,
    )
    assert cand.name == x4.name and cand.corpus == x4.corpus and x4 == before  # the recipe stays
    for bad, match in (
        ({"patch_len": 4096}, "not a setting a candidate may change"),
        ({"lr": "fast"}, "expected a float"),
        ({"weights": "middle"}, "choose from best, final, raw"),
        ({"passes": 3}, "choose from 1, 2, 4, 8"),
    ):
        with pytest.raises(WavesrError, match=match):
            vary(x4, bad)


def test_recipe_cli_refuses_to_ship_a_candidate_or_an_untested_run(tmp_path, capsys):
    from wavesr.cli import main as cli

    assert cli(["recipe", "speech-x4", "--set", "stft_weight=1e-4", "--ship", "--work", str(tmp_path)]) == 1
    assert cli(["recipe", "speech-x4", "--no-test", "--ship", "--work", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "ships a recipe as it stands" in err and "--ship needs the test evaluation" in err
    assert not any(tmp_path.iterdir())  # refused before any work
