"""Reliability as a careless or hostile user meets it: nothing of the user's is deleted or replaced,
every resource stays bounded, and every mistake is one line (never a traceback).

Real files through libsndfile, real training runs (tiny), real subprocesses for signals and races.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import TINY_TRAIN, default_signals, prepare_voices

from wavesr import audio, batch, files, inference, pretrained
from wavesr.cli import main
from wavesr.data.patches import PatchDataset
from wavesr.errors import WavesrError
from wavesr.evaluate import EvalConfig
from wavesr.models import build_model, save_model
from wavesr.report.plots import save_figure
from wavesr.train import TrainConfig

WAVESR = str(Path(sys.executable).parent / "wavesr")
TINY = [*TINY_TRAIN, "--max-steps", "2"]


@pytest.fixture
def env(tmp_path, monkeypatch):
    save_model(build_model("spline", ratio=4), tmp_path / "spline.pt")
    monkeypatch.setenv(pretrained.REGISTRY_ENV, str(tmp_path / "registry"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return prepare_voices(tmp_path_factory.mktemp("reliability_data"), counts=(("train", 2), ("val", 1)))


def noise(frames, channels=1, seed=0):
    return (0.2 * np.random.default_rng(seed).standard_normal((frames, channels))).astype(np.float32)


def write(path, frames=4000, sr=4000, channels=1):
    sf.write(os.fsencode(path), noise(frames, channels), sr)
    return Path(path)


def one_line_error(capsys, code, expected=1):
    """The command failed with ``expected`` and said why in one line on stderr (no traceback)."""
    err = capsys.readouterr().err
    assert code == expected, err
    lines = [line for line in err.splitlines() if "error" in line or "wavesr: skipped" in line]
    assert lines and "Traceback" not in err, err
    return err


def trained_run(data, run):
    assert main(["train", str(data / "train"), "-o", str(run), *TINY]) == 0
    return run


# ------------------------------------------- 1. nothing of the user's deleted or replaced


def test_train_refuses_a_folder_with_files_it_did_not_make(data, tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    for name, text in (("metrics.csv", "my,numbers\n"), ("config.json", '{"my": "settings"}')):
        (out / name).write_text(text)
    for extra in ([], ["--force"]):
        err = one_line_error(capsys, main(["train", str(data / "train"), "-o", str(out), *TINY, *extra]))
        assert ("not written by a wavesr run" if extra else "already holds a training run") in err
    assert (out / "metrics.csv").read_text() == "my,numbers\n" and json.loads(
        (out / "config.json").read_text()
    )
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "metrics.csv"]


def test_a_finished_run_without_last_pt_is_not_replaced_without_force(data, tmp_path, capsys):
    run = trained_run(data, tmp_path / "run")
    (run / "last.pt").unlink()  # removed to save space: model.pt is the result
    before = (run / "model.pt").read_bytes()
    metrics = (run / "metrics.jsonl").read_text()
    err = one_line_error(capsys, main(["train", str(data / "train"), "-o", str(run), *TINY]))
    assert "already holds a training run" in err
    assert (run / "model.pt").read_bytes() == before and (run / "metrics.jsonl").read_text() == metrics
    assert (
        main(["train", str(data / "train"), "-o", str(run), *TINY, "--force"]) == 0
    )  # wavesr's own: restarted
    assert (run / "last.pt").is_file()


def test_force_never_restarts_over_a_foreign_checkpoint(data, tmp_path, capsys):
    run = trained_run(data, tmp_path / "run")
    (run / "best.pt").write_bytes(b"my own checkpoint")
    err = one_line_error(capsys, main(["train", str(data / "train"), "-o", str(run), *TINY, "--force"]))
    assert (
        "best.pt not written by a wavesr run" in err
        and (run / "best.pt").read_bytes() == b"my own checkpoint"
    )


def test_prepare_and_samples_never_touch_sibling_folders(data, tmp_path, capsys):
    """`OUT.partial`, `OUT.old` (the names older versions used) and any other sibling stay."""
    siblings = {}
    for name in ("ds.partial", "ds.old", "page.partial", "page.old"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "mine.txt").write_text(name)
        siblings[name] = name
    spec = [
        "prepare",
        "folder",
        "--root",
        str(data / "audio"),
        "--ratio",
        "4",
        "--patch-len",
        "1024",
        "--workers",
        "0",
        "--split",
        "train",
        "-o",
        str(tmp_path / "ds"),
    ]
    assert main(spec) == 0
    assert main(spec + ["--force"]) == 0
    from wavesr.report.samples import build_page

    evaluation = tmp_path / "eval"
    assert (
        main(
            [
                "evaluate",
                "cubic",
                "--files",
                str(data / "audio"),
                "--ratios",
                "4",
                "--save-audio",
                "1",
                "--no-pesq",
                "--no-stoi",
                "-q",
                "-o",
                str(evaluation),
            ]
        )
        == 0
    )
    build_page([evaluation], tmp_path / "page")
    build_page([evaluation], tmp_path / "page", force=True)
    for name, text in siblings.items():
        assert (tmp_path / name / "mine.txt").read_text() == text
    hidden = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert hidden == [], hidden  # no staging folder left either
    capsys.readouterr()


def test_registry_never_deletes_a_file_outside_its_folder(env, capsys):
    victim = env / "victim.txt"
    victim.write_text("keep me")
    registry = env / "registry"
    pretrained.add_model(env / "spline.pt", "m", "speech", registry=registry)
    index = json.loads((registry / "registry.json").read_text())
    for key, value in (("file", "../victim.txt"), ("file", str(victim)), ("card", "../victim.txt")):
        edited = json.loads(json.dumps(index))
        edited["models"]["m"][key] = value
        (registry / "registry.json").write_text(json.dumps(edited))
        save_model(build_model("spline", ratio=2), env / "other.pt")
        with pytest.raises(WavesrError, match="not a file name inside the folder"):
            pretrained.add_model(env / "other.pt", "m", "speech", registry=registry, force=True)
        assert victim.read_text() == "keep me"
        one_line_error(capsys, main(["models"]))


def test_an_output_never_lands_on_an_input_of_the_batch(env, capsys):
    write(env / "a.wav")
    sf.write(env / "a.sr.wav", noise(4000, seed=1), 4000)
    before = (env / "a.sr.wav").read_bytes()
    code = main(["upsample", "a.wav", "a.sr.wav", "--model", "spline.pt", "-q", "--force"])
    err = capsys.readouterr().err
    assert code == 1 and "is an input of this batch" in err
    assert (env / "a.sr.wav").read_bytes() == before  # the second input is untouched
    assert (env / "a.sr.sr.wav").is_file()  # and was itself upsampled
    sf.write(env / "b.cubic.wav", noise(4000), 4000)
    write(env / "b.wav")
    before = (env / "b.cubic.wav").read_bytes()
    assert (
        main(["upsample", "b.wav", "b.cubic.wav", "--model", "spline.pt", "--compare", "-q", "--force"]) == 1
    )
    assert (
        "an input of this batch" in capsys.readouterr().err and (env / "b.cubic.wav").read_bytes() == before
    )


@pytest.mark.parametrize("kind", ["wav", "flac", "png", "pdf", "svg", "checkpoint"])
def test_force_replaces_only_what_wavesr_wrote(env, kind):
    path = env / f"out.{'pt' if kind == 'checkpoint' else kind}"

    def make(force):
        if kind in ("wav", "flac"):
            audio.save(path, noise(100)[:, 0], 16000, force=force)
        elif kind == "checkpoint":
            save_model(build_model("spline", ratio=2), path, force=force)
        else:
            from matplotlib.figure import Figure

            save_figure(Figure(figsize=(1, 1)), path, force=force)

    path.write_bytes(b"the user's own file")
    for force in (False, True):
        with pytest.raises(WavesrError, match="already exists"):
            make(force)
        assert path.read_bytes() == b"the user's own file"
    path.unlink()
    make(False)
    assert files.made_by_wavesr(path)
    with pytest.raises(WavesrError, match="already exists"):
        make(False)
    make(True)  # wavesr's own: replaced
    assert files.made_by_wavesr(path) and not list(env.glob(".*tmp*"))


def test_a_file_that_appears_during_a_write_is_kept():
    """The check-then-rename window is closed: a name taken meanwhile is not replaced."""
    import tempfile

    folder = Path(tempfile.mkdtemp())
    target = folder / "same.wav"
    with pytest.raises(WavesrError, match="another process"):
        with files.atomic_path(target) as tmp:
            tmp.write_bytes(b"mine")
            target.write_bytes(b"theirs")  # another process finished first
    assert target.read_bytes() == b"theirs" and sorted(p.name for p in folder.iterdir()) == ["same.wav"]
    shutil.rmtree(folder)


def test_two_processes_writing_the_same_output_one_wins_one_says_so(env):
    sf.write(env / "long.wav", noise(4000 * 600), 4000)  # 10 minutes: both are still working when one ends
    cmd = [WAVESR, "upsample", "long.wav", "--model", "spline.pt", "-q", "-o", "same.wav"]
    procs = [subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, cwd=env) for _ in range(2)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    assert sorted(code for code, _ in results) == [0, 1], results
    assert "already exists" in next(err for code, err in results if code == 1)
    assert sf.info(env / "same.wav").frames == 4 * 4000 * 600 and not list(env.glob(".*tmp*"))


def _slow_upsample(env, out):
    """A real `wavesr upsample` run that takes a while (a tiny network on 20 minutes of audio)."""
    torch.manual_seed(0)
    save_model(
        build_model("audiounet", ratio=4, blocks=2, filters=[4, 8], kernel_sizes=[5, 3], dropout=0.0),
        env / "tiny.pt",
    )
    sf.write(env / "long.wav", noise(4000 * 1200), 4000)
    return subprocess.Popen(
        [WAVESR, "upsample", "long.wav", "--model", "tiny.pt", "-q", "-o", out],
        stderr=subprocess.PIPE,
        text=True,
        cwd=env,
        preexec_fn=default_signals,
    )


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_leave_nothing_and_say_so(env, signum):
    proc = _slow_upsample(env, "out.wav")
    deadline = time.time() + 60
    while time.time() < deadline and not list(env.glob(".out.*.tmp.wav")):
        time.sleep(0.05)
    assert list(env.glob(".out.*.tmp.wav")), "the output never started"
    proc.send_signal(signum)
    code, err = proc.wait(timeout=60), proc.stderr.read()
    assert code == 128 + signum and f"terminated ({signal.Signals(signum).name})" in err, err
    assert "Traceback" not in err and not (env / "out.wav").exists() and not list(env.glob(".*tmp*"))


def test_sigterm_during_prepare_leaves_no_staging_folder(data, tmp_path):
    long = tmp_path / "audio"
    long.mkdir()
    for i in range(4):
        sf.write(long / f"f{i}.wav", noise(16000 * 60, seed=i), 16000)
    proc = subprocess.Popen(
        [
            WAVESR,
            "prepare",
            "folder",
            "--root",
            str(long),
            "--split",
            "all",
            "--workers",
            "1",
            "--patch-len",
            "1024",
            "-o",
            str(tmp_path / "ds"),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 60
    while time.time() < deadline and not list(tmp_path.rglob(".*partial-*/hr.f32")):
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    code, err = proc.wait(timeout=60), proc.stderr.read()
    assert code == 128 + signal.SIGTERM and "terminated" in err and "Traceback" not in err, err
    assert (
        not list(tmp_path.rglob(".*partial-*")) and not (tmp_path / "ds" / "train" / "settings.json").exists()
    )


_FORKED_SIGNALS = """
import multiprocessing, signal
from wavesr.cli import _handle_signals, _terminated

def report(queue):
    queue.put([signal.getsignal(s) is signal.SIG_DFL for s in (signal.SIGTERM, signal.SIGHUP)])

_handle_signals()
queue = multiprocessing.get_context("fork").SimpleQueue()
child = multiprocessing.get_context("fork").Process(target=report, args=(queue,))
child.start()
child.join()
print(queue.get(), [signal.getsignal(s) is _terminated for s in (signal.SIGTERM, signal.SIGHUP)])
"""


def test_a_worker_forked_from_wavesr_dies_on_sigterm_as_the_default_says():
    """A pool's worker must not keep wavesr's Python-level handler: Pool.terminate signals workers as
    they wait on the task queue's lock, where a handler only notes the signal (a hung prepare)."""
    out = subprocess.run(
        [sys.executable, "-c", _FORKED_SIGNALS],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=default_signals,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["[True,", "True]", "[True,", "True]"], out.stdout


def test_compare_counts_a_written_output_as_upsampled(env, capsys, monkeypatch):
    write(env / "in.wav")

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(batch, "compare_figure", full_disk)
    assert main(["upsample", "in.wav", "--model", "spline.pt", "--compare", "-q"]) == 1
    err = capsys.readouterr().err
    assert "1 of 1 files upsampled; --compare failed for: in.wav" in err and (env / "in.sr.wav").is_file()


# ---------------------------------------------------------- 2. every resource bounded


def _peak_rss_mb(code):
    """Peak resident memory (MB) of a fresh Python running ``code``, beyond its imports."""
    script = (
        "import resource, wavesr.audiofiles, wavesr.pretrained, soundfile\n"
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        + code
        + "\nprint((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) // 1024)"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[-1])


def test_memory_does_not_grow_with_the_channel_count(tmp_path):
    """The shipped FastNet on 1 s of 256 channels: the network sees a few channels at a time."""
    sf.write(tmp_path / "many.wav", noise(4000, 256), 4000, subtype="FLOAT")
    sf.write(tmp_path / "few.wav", noise(4000, 4), 4000, subtype="FLOAT")
    run = (
        "m = wavesr.pretrained.load_model('speech-x4', device='cpu')\n"
        "wavesr.audiofiles.upsample_file(m, {!r}, {!r}, passes=1)"
    )
    few = _peak_rss_mb(run.format(str(tmp_path / "few.wav"), str(tmp_path / "few.sr.wav")))
    many = _peak_rss_mb(run.format(str(tmp_path / "many.wav"), str(tmp_path / "many.sr.wav")))
    assert sf.info(tmp_path / "many.sr.wav").channels == 256
    assert many < few + 300, (few, many)  # it was about 7 MB per channel per second: +1.7 GB here


def test_many_channels_get_shorter_chunks_and_read_blocks():
    model = build_model("spline", ratio=4)
    stream = inference.Stream(model, 4000, 1024, chunk_seconds=10, overlap_seconds=1)
    assert stream.chunk * 1024 <= inference.CHUNK_SAMPLES and 0 < stream.overlap < stream.chunk
    assert inference.block_frames(1024) * 1024 <= inference.BLOCK_SAMPLES
    assert inference.Stream(model, 4000, 2, chunk_seconds=10).chunk == 40000  # ordinary files as before


def test_a_checkpoint_asking_for_huge_widths_is_refused_before_it_is_built(env, capsys):
    model = build_model("fast", ratio=4)
    save_model(model, env / "ok.pt")
    checkpoint = torch.load(env / "ok.pt", weights_only=True)
    checkpoint["config"]["widths"] = [1 << 20] * 4  # ~10^12 parameters if it were built
    torch.save(checkpoint, env / "huge.pt")
    write(env / "in.wav")
    start = time.perf_counter()
    err = one_line_error(capsys, main(["upsample", "in.wav", "--model", "huge.pt", "-q"]))
    assert "weights do not match" in err and time.perf_counter() - start < 30


@pytest.mark.parametrize(
    "args",
    [
        ["upsample", "in.wav", "--chunk-seconds", "nan"],
        ["upsample", "in.wav", "--chunk-seconds", "inf"],
        ["upsample", "in.wav", "--chunk-seconds", "0"],
        ["upsample", "in.wav", "--chunk-seconds", "1e9"],
        ["upsample", "in.wav", "--overlap-seconds", "nan"],
        ["upsample", "in.wav", "--overlap-seconds", "-1"],
        ["upsample", "in.wav", "--target-sr", "0"],
        ["upsample", "in.wav", "--ratio", "1"],
        ["upsample", "in.wav", "--device", "meta"],
        ["evaluate", "cubic", "--files", "in.wav", "-o", "e", "--max-seconds", "nan"],
        ["evaluate", "cubic", "--files", "in.wav", "-o", "e", "--figures", "-1"],
        ["train", "d", "-o", "r", "--batch-size", "0"],
        ["train", "d", "-o", "r", "--lr", "nan"],
        ["train", "d", "-o", "r", "--workers", "-2"],
        ["train", "d", "-o", "r", "--device", "meta"],
        ["train", "d", "-o", "r", "--ema", "1"],
        ["train", "d", "-o", "r", "--max-minutes", "inf"],
        ["prepare", "speech", "-o", "p", "--ratio", "0"],
        ["prepare", "speech", "-o", "p", "--silence-db", "nan"],
        ["plot", "in.wav", "--ratio", "4", "-o", "f.png", "--seconds", "0"],
        ["samples", "e", "-o", "s", "--port", "70000"],
        ["recipe", "speech-x4", "--minutes", "nan"],
        ["corpus", "build", "speech", "--limit", "0"],
    ],
)
def test_numeric_flags_out_of_range_are_one_line(env, capsys, args):
    with pytest.raises(SystemExit) as e:
        main(args)
    err = capsys.readouterr().err
    assert e.value.code == 2 and "error: argument" in err and "Traceback" not in err, err


def test_every_numeric_flag_states_its_range(capsys):
    import argparse

    from wavesr.cli import Number, build_parser

    def actions(parser):
        for action in parser._actions:
            yield action
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    yield from actions(sub)

    numeric = [a for a in actions(build_parser()) if a.type in (int, float) or isinstance(a.type, Number)]
    for action in numeric:
        assert isinstance(action.type, Number) or action.choices, (
            f"{action.option_strings}: a number without a range"
        )
        if isinstance(action.type, Number):
            assert action.type.describe() in action.help, action.option_strings
    assert len(numeric) >= 30


def test_library_arguments_out_of_range_are_one_line():
    model = build_model("spline", ratio=4)
    x = noise(4000)[:, 0]
    for options in (
        {"chunk_seconds": float("nan")},
        {"overlap_seconds": float("inf")},
        {"chunk_seconds": -1},
    ):
        with pytest.raises(WavesrError):
            inference.upsample_array(model, x, 4000, **options)
    for bad in ({"batch_size": 0}, {"lr": float("nan")}, {"workers": -2}, {"device": "meta"}, {"seed": 1.5}):
        with pytest.raises(WavesrError):
            TrainConfig(data="d", out="o", **bad).check()
    for bad in ({"max_seconds": float("nan")}, {"chunk_seconds": float("inf")}, {"device": "meta"}):
        with pytest.raises(WavesrError):
            EvalConfig(**bad)


@pytest.mark.parametrize(
    "make",
    [
        lambda x: torch.from_numpy((x * 32767).astype(np.int16)),
        lambda x: (x * 32767).astype(np.int16),
        lambda x: torch.from_numpy((x * 2**31).astype(np.int32)),
    ],
)
def test_integer_samples_are_refused_alike_as_tensor_or_array(make):
    model = build_model("spline", ratio=4)
    x = noise(4000)[:, 0]
    with pytest.raises(WavesrError, match="must be a float array"):
        model.upsample(make(x), 4000)
    with pytest.raises(WavesrError, match="must be a float array"):
        inference.Stream(model, 4000, 1).push(make(x)[None])
    y, _ = model.upsample(torch.from_numpy(x).to(torch.float64), 4000)  # floats of any width still work
    assert y.dtype == torch.float64


# --------------------------------------------------------------- 3. one line, never a traceback


def _damage_checkpoint(run, how):
    last = run / "last.pt"
    if how == "truncated":
        last.write_bytes(last.read_bytes()[:1000])
    elif how == "foreign":
        torch.save({"weights": torch.zeros(3)}, last)
    elif how == "text":
        last.write_text("not a checkpoint")
    elif how == "no training state":
        save_model(build_model("audiounet", ratio=4, blocks=2, width=0.0625), last, force=True)
    elif how == "other network":
        checkpoint = torch.load(last, weights_only=True)
        save_model(
            build_model("spline", ratio=4), last, extra={"training": checkpoint["training"]}, force=True
        )
    elif how == "damaged state":
        checkpoint = torch.load(last, weights_only=True)
        checkpoint["training"]["optimizer"] = {"state": 5}
        torch.save(checkpoint, last)


def _damage_config(run, how):
    path = run / "config.json"
    config = json.loads(path.read_text())
    if how == "missing key":
        del config["train"]["lr"]
    elif how == "extra key":
        config["train"]["learning_speed"] = 3
    elif how == "wrong type":
        config["train"]["batch_size"] = "eight"
    elif how == "out of range":
        config["train"]["batch_size"] = 0
    elif how == "no train":
        config = ["train"]
    path.write_text(json.dumps(config) if how != "not json" else "{train: ")


@pytest.mark.parametrize(
    "damage",
    [
        ("checkpoint", "truncated"),
        ("checkpoint", "foreign"),
        ("checkpoint", "text"),
        ("checkpoint", "no training state"),
        ("checkpoint", "other network"),
        ("checkpoint", "damaged state"),
        ("config", "missing key"),
        ("config", "extra key"),
        ("config", "wrong type"),
        ("config", "out of range"),
        ("config", "no train"),
        ("config", "not json"),
    ],
)
def test_resume_of_a_damaged_run_is_one_line(data, tmp_path, capsys, damage):
    run = tmp_path / "run"
    assert main(["train", str(data / "train"), "-o", str(run), *TINY[:-2], "--max-steps", "1"]) == 0
    (_damage_checkpoint if damage[0] == "checkpoint" else _damage_config)(run, damage[1])
    one_line_error(capsys, main(["train", "--resume", str(run)]))


@pytest.mark.parametrize(
    "edit",
    [
        lambda s, o: s.pop("files"),
        lambda s, o: s["files"].pop("hr"),
        lambda s, o: s.update(sr="16 kHz"),
        lambda s, o: s["files"]["hr"].update(name="../outside.bin"),
        lambda s, o: s["files"]["lr"].update(name=str(o)),
        lambda s, o: s["totals"].update(patches=s["totals"]["patches"] * 10),
        lambda s, o: s.update(sources={"a": 1}),
        lambda s, o: s.update(lr_len=3),
        lambda s, o: s["totals"].update(patches="many"),
        lambda s, o: s.update(totals=[]),
    ],
)
def test_a_damaged_or_edited_dataset_is_one_line(data, tmp_path, capsys, edit):
    folder = tmp_path / "train"
    shutil.copytree(data / "train", folder)
    outside = tmp_path / "outside.bin"  # a file outside the dataset, of the size a patch file would have
    for key in ("hr", "lr"):
        shutil.copyfile(folder / f"{key}.f32", outside if key == "hr" else tmp_path / "outside-lr.bin")
    settings = json.loads((folder / "settings.json").read_text())
    edit(settings, tmp_path / "outside-lr.bin")
    (folder / "settings.json").write_text(json.dumps(settings))
    with pytest.raises(WavesrError):
        PatchDataset(folder)
    one_line_error(capsys, main(["train", str(folder), "-o", str(tmp_path / "run"), *TINY]))


@pytest.mark.parametrize(
    "edit",
    [
        lambda r: r["models"]["m"].update(ratio="four"),
        lambda r: r["models"]["m"].update(file=5),
        lambda r: r["models"]["m"].update(scores=[1, 2]),
        lambda r: r["models"]["m"].update(sr=-1),
        lambda r: r["models"].update(m="speech-x4"),
        lambda r: r["models"]["m"].update(passes="4"),
        lambda r: r["models"]["m"].update(content=None),
        lambda r: r["models"]["m"].pop("sha256"),
    ],
)
def test_a_registry_with_wrong_types_is_one_line(env, capsys, edit):
    registry = env / "registry"
    pretrained.add_model(env / "spline.pt", "m", "speech", registry=registry)
    index = json.loads((registry / "registry.json").read_text())
    edit(index)
    (registry / "registry.json").write_text(json.dumps(index))
    one_line_error(capsys, main(["models"]))
    write(env / "in.wav")
    one_line_error(capsys, main(["upsample", "in.wav", "--model", "m", "-q"]))


def test_file_names_that_are_not_utf8(env):
    name = os.fsdecode(b"caf\xe9 \xff.wav")
    write(env / name)
    out = subprocess.run(
        [WAVESR, "upsample", name, "--model", "spline.pt"],
        cwd=env,
        capture_output=True,
        env={**os.environ, "LC_ALL": "C.UTF-8"},
    )
    assert out.returncode == 0, out.stderr
    assert sf.info(os.fsencode(env / os.fsdecode(b"caf\xe9 \xff.sr.wav"))).frames == 16000
    assert b"caf\\xe9 \\xff" in out.stdout + out.stderr  # printed as escapes, not a crash
    assert main(["upsample", name, "--model", "spline.pt", "-q", "-o", "folder"]) == 0


def test_a_long_file_name_keeps_a_short_temporary_name(env, capsys):
    stem = "x" * 240
    write(env / f"{stem}.wav")
    assert main(["upsample", f"{stem}.wav", "--model", "spline.pt", "-q"]) == 0, capsys.readouterr().err
    assert (env / f"{stem}.sr.wav").is_file()
    audio.save(env / f"{'y' * 250}.wav", noise(100)[:, 0], 16000)
    files.write_json(env / f"{'z' * 250}.json", {"a": 1})


@pytest.mark.parametrize(
    "out,problem",
    [
        ("-", "standard output is not supported"),
        ("out.mp3", "writes .wav or .flac"),
        ("x/out.ogg", "writes .wav or .flac"),
    ],
)
def test_outputs_wavesr_cannot_write_are_refused(env, capsys, out, problem):
    write(env / "in.wav")
    err = one_line_error(capsys, main(["upsample", "in.wav", "--model", "spline.pt", "-q", "-o", out]))
    assert problem in err and not (env / out).exists() and not (env / "x").exists()


def test_a_fifo_or_a_device_is_named_for_what_it_is(env, capsys):
    os.mkfifo(env / "pipe.wav")
    for path, what in ((env / "pipe.wav", "is a FIFO"), (Path("/dev/zero"), "is a device")):
        err = one_line_error(
            capsys, main(["upsample", str(path), "--model", "spline.pt", "-q", "-o", "o.wav"])
        )
        assert what in err and "no such file" not in err
        with pytest.raises(WavesrError, match=what):
            audio.load(path)
    err = one_line_error(capsys, main(["upsample", "missing.wav", "--model", "spline.pt", "-q"]))
    assert "no such file" in err
