"""Training: the paper's recipe on one CPU, one GPU, or many machines (DDP under torchrun).

Recipe (Kuleshov et al. 2017, section 4): Adam, learning rate 1e-4, L2 loss between the
reconstruction and the high-resolution patch, constant learning rate for the first half of
training and linear decay to zero over the second half. The original code's per-example RMSE
and an L2 + multi-resolution STFT objective are options (see :mod:`wavesr.losses`).

A run folder holds everything about a run::

    RUN/config.json     TrainConfig, model config, data settings (written once)
    RUN/last.pt         the latest checkpoint (every epoch, every N minutes / N steps)
    RUN/best.pt         the checkpoint with the lowest validation LSD
    RUN/model.pt        the final weights
    RUN/metrics.jsonl   one JSON object per log line (training and validation)
    RUN/metrics.csv     validation rows, flat

Checkpoints are self-describing wavesr model files (``models.base.save_model``); every one of a
run (``last.pt``, ``best.pt``, ``model.pt``) keeps its TrainConfig under ``"train_config"``, and
``last.pt`` and ``best.pt`` the training state under ``"training"``: optimizer, step, planned
total, RNG state, and with ``ema`` > 0 the moving average of the weights. That average
(``ema_k = d ema_k-1 + (1 - d) w_k``, ``d`` ramped up as ``min(ema, (1 + k) / (10 + k))``) is
what is validated and what ``best.pt`` and ``model.pt`` hold; ``last.pt`` holds the raw weights
the optimizer works on, and with ``adv_weight`` > 0 the discriminators and their optimizer
(:mod:`wavesr.adversarial`). Resuming restores all of it, re-creates the epoch's sample order from the
seed and skips the batches already seen, so a killed run resumed ends with the same weights as an
uninterrupted one.
Checkpoints are written atomically: a run killed during a write keeps its previous ``last.pt``
(and resumes from it); the killed write's temporary ``.last.*.tmp.pt`` is deleted when the run
resumes or restarts.

Under ``torchrun`` (``WORLD_SIZE`` > 1) the same code runs DistributedDataParallel (gloo on
CPU, NCCL on GPU) with a distributed sampler; rank 0 validates, logs and writes checkpoints.
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, DistributedSampler
from tqdm import tqdm

from . import audio, checks, metrics
from .adversarial import Adversary
from .channels import TRAINING_FAMILIES
from .configs import TrainConfig, stored_train_settings  # noqa: F401 (TrainConfig: public here too)
from .data.augment import BrightnessAugment, ChannelDraw, DegradeMix, WithCutoff
from .data.corpus import evenly_spaced
from .data.patches import PatchDataset
from .devices import resolve_device
from .errors import WavesrError
from .files import made_by_wavesr, read_json, write_json
from .losses import loss_fn
from .models.base import (
    RUNNING,
    Upsampler,
    architecture,
    build_model,
    channel_mix,
    current_config,
    model_class,
    model_from_checkpoint,
    read_checkpoint,
    save_model,
)

# ------------------------------------------------------------------------------ small parts

REPLAN_EVERY = 50  # steps between plans of a time-budgeted run's total (wavesr.train.plan_steps)


def learning_rate(cfg: TrainConfig, step: int, total: int) -> float:
    """Constant for the first half, then linear decay to zero (the paper's recipe)."""
    if cfg.decay == "none" or step < total / 2:
        return cfg.lr
    return cfg.lr * max(0.0, (total - step) / (total / 2))


def _autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    if precision == "fp32" or (precision == "auto" and device.type != "cuda"):
        return None
    if precision == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return {"bf16": torch.bfloat16, "fp16": torch.float16}[precision]


class WeightAverage:
    """Exponential moving average of a network's weights (buffers are copied as they are)."""

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        self.decay = decay
        self.model = copy.deepcopy(model).requires_grad_(False)

    @torch.no_grad()
    def update(self, model: torch.nn.Module, step: int) -> None:
        d = min(self.decay, (1 + step) / (10 + step))
        for avg, new in zip(self.model.parameters(), model.parameters()):
            avg.lerp_(new.detach(), 1.0 - d)
        for kept, current in zip(self.model.buffers(), model.buffers()):
            kept.copy_(current)


@dataclass
class _Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def _init_distributed(device: torch.device) -> _Dist:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return _Dist()
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return _Dist(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def _barrier(d: _Dist) -> None:
    if d.world > 1:
        dist.barrier()


# ------------------------------------------------------------------------------ validation


class Validator:
    """Scores a model on held-out patches and whole held-out files, beside the cubic spline."""

    def __init__(self, val_dir: str | None, max_patches: int, n_files: int):
        self.patches: tuple[np.ndarray, np.ndarray] | None = None
        self.files: list[tuple[str, np.ndarray, np.ndarray]] = []
        if not val_dir:
            return
        ds = PatchDataset(val_dir)
        self.sr, self.ratio, channel = ds.sr, ds.ratio, ds.channel
        take = evenly_spaced(range(len(ds)), max_patches)
        if take:
            pairs = [ds[i] for i in take]
            self.patches = (
                torch.stack([p[0] for p in pairs]).numpy(),
                torch.stack([p[1] for p in pairs]).numpy(),
            )
        sources = sorted(s["path"] for s in ds.settings.get("sources", []) if s.get("patches", 1) > 0)
        for path in evenly_spaced(sources, n_files):  # spread over voices, not the first few
            hr, _ = audio.load(path, sr=self.sr, mono=True)
            self.files.append((path, hr, audio.degrade(hr, self.ratio, channel)))
        self.baseline = self._score(lambda lr, n: audio.interpolate(lr, self.ratio, "cubic", length=n))

    def _score(self, upsample) -> dict[str, float]:
        out: dict[str, float] = {}
        if self.patches is not None:
            lr, hr = self.patches
            pred = np.concatenate([upsample(lr[i : i + 32], hr.shape[-1]) for i in range(0, len(lr), 32)])
            out["patch_l2"] = float(np.mean((pred - hr) ** 2))
            out["patch_snr"] = float(np.mean(metrics.snr(hr[:, 0], pred[:, 0])))
        rows = [
            metrics.evaluate_pair(hr, upsample(lr[None, None], hr.size)[0, 0], self.sr, self.ratio)
            for _, hr, lr in self.files
        ]
        for key in rows[0] if rows else []:
            out[f"file_{key}"] = float(np.mean([r[key] for r in rows]))
        return out

    @torch.no_grad()
    def __call__(self, model: torch.nn.Module, device: torch.device) -> dict[str, float]:
        model.eval()

        def upsample(lr: np.ndarray, n: int) -> np.ndarray:
            y = model(torch.from_numpy(np.ascontiguousarray(lr)).float().to(device))
            return y[..., :n].float().cpu().numpy()

        scores = self._score(upsample)
        model.train()
        return scores

    @property
    def enabled(self) -> bool:
        return self.patches is not None or bool(self.files)

    baseline_name = "cubic"
    key_order = ("file_lsd", "patch_l2")  # what best.pt is chosen by: the first of these scored


class BandValidator:
    """Scores a full-band network (``ratio`` 1) on held-out patches, each through a channel drawn
    once with a fixed seed from the run's families, beside the input itself (what band-limited
    interpolation to the full rate gives): SNR, the clamped standard LSD and the LSD above each
    patch's channel cutoff."""

    baseline_name = "input"
    key_order = ("patch_lsd",)
    SEED = 20261201

    def __init__(self, val_dir: str | None, max_patches: int, families: tuple[str, ...]):
        from .channels import draw

        self.pairs: list[tuple[np.ndarray, np.ndarray, float]] = []
        if not val_dir:
            return
        ds = PatchDataset(val_dir)
        self.sr = ds.sr
        rng = np.random.default_rng(self.SEED)
        for i in evenly_spaced(range(len(ds)), max_patches):
            hr = ds[i][1][0].numpy()
            channel = draw(rng, self.sr, families)
            self.pairs.append((hr, channel.apply(hr, self.sr), channel.cutoff))
        self.baseline = self._score(lambda x: x)

    def _score(self, extend: Any) -> dict[str, float]:
        inputs = np.stack([p[1] for p in self.pairs])[:, None]
        out = np.concatenate([extend(inputs[i : i + 16]) for i in range(0, len(inputs), 16)])[:, 0]
        rows = [
            (
                float(metrics.snr(hr, y)),
                metrics.lsd(hr, y, "clamped"),
                metrics.lsd(hr, y, "clamped", sr=self.sr, band=(cut, self.sr / 2)),
            )
            for (hr, _, cut), y in zip(self.pairs, out)
        ]
        snr, lsd, lsd_hf = (float(np.mean([r[k] for r in rows])) for k in range(3))
        return {"patch_snr": snr, "patch_lsd": lsd, "patch_lsd_hf": lsd_hf}

    @torch.no_grad()
    def __call__(self, model: torch.nn.Module, device: torch.device) -> dict[str, float]:
        model.eval()
        scores = self._score(
            lambda x: (
                model(torch.from_numpy(np.ascontiguousarray(x)).float().to(device)).float().cpu().numpy()
            )
        )
        model.train()
        return scores

    @property
    def enabled(self) -> bool:
        return bool(self.pairs)


# ------------------------------------------------------------------------------ the loop


def _save(path: Path, model: Upsampler, s: Session, with_ema: bool) -> None:
    """A checkpoint of ``model`` with the run's training state (and the moving average with ``with_ema``)."""
    rng = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()  # type: ignore[assignment]
    training = {**dataclasses.asdict(s.progress), "optimizer": s.optimizer.state_dict(), "rng": rng}
    if with_ema and s.ema is not None:
        training["ema"] = s.ema.model.state_dict()
    if with_ema and s.adversary is not None:  # last.pt: the discriminators too
        training["discriminators"] = s.adversary.state()
    save_model(
        model, path, extra={"training": training, TRAIN_CONFIG_KEY: dataclasses.asdict(s.cfg)}, force=True
    )


def _log(run: Path, row: dict[str, Any], writer: Any) -> None:
    with open(run / "metrics.jsonl", "a") as f:
        f.write(json.dumps(row) + "\n")
    if "val" in row:
        flat = {"step": row["step"], "epoch": row["epoch"], **row["val"]}
        new = not (run / "metrics.csv").exists()
        with open(run / "metrics.csv", "a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(flat))
            if new:
                w.writeheader()
            w.writerow(flat)
    if writer is not None:
        for key, value in row.items():
            if isinstance(value, (int, float)) and key not in ("step", "epoch"):
                writer.add_scalar(f"train/{key}", value, row["step"])
        for key, value in row.get("val", {}).items():
            writer.add_scalar(f"val/{key}", value, row["step"])


def _tensorboard(run: Path) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is optional
        return None
    return SummaryWriter(str(run / "tensorboard"))


def read_run(run: Path) -> tuple[TrainConfig, dict[str, Any]]:
    """The config and the last checkpoint of a run folder to resume, checked (one-line errors)."""
    if not run.is_dir():
        raise WavesrError(f"{run}: no such run folder")
    if not (run / "last.pt").exists():
        raise WavesrError(f"{run}: no checkpoint to resume from (last.pt missing)")
    stored = read_json(run / "config.json")
    where = f"{run / 'config.json'}"
    if not isinstance(stored, dict) or not isinstance(stored.get("train"), dict):
        raise WavesrError(f"{where}: not a wavesr run's config (no 'train' settings)")
    cfg = checks.from_dict(TrainConfig, stored_train_settings(stored["train"]), f"{where}: train")
    checkpoint = read_checkpoint(run / "last.pt")
    training = checkpoint.get("training")
    keys: dict[str, Any] = {
        "optimizer": dict,
        "rng": dict,
        "step": int,
        "total": (int, float),
        "best": (int, float),
        "planned": bool,
        "elapsed": (int, float),
    }
    if not isinstance(training, dict):
        bad = ["training"]
    else:
        bad = [k for k, kind in keys.items() if not isinstance(training.get(k), kind)]
        if not bad and not isinstance(training["rng"].get("torch"), torch.Tensor):
            bad = ["rng"]
        if not bad and cfg.ema > 0 and not isinstance(training.get("ema"), dict):
            bad = ["ema"]
        if not bad and cfg.adv_weight > 0 and not isinstance(training.get("discriminators"), dict):
            bad = ["discriminators"]
    if bad:
        raise WavesrError(
            f"{run / 'last.pt'}: not a training checkpoint of this run ({', '.join(bad)} missing or "
            "damaged); start again with --force or another folder"
        )
    if checkpoint["model"] != cfg.model:
        raise WavesrError(
            f"{run / 'last.pt'}: holds a {checkpoint['model']} network, the run trains {cfg.model}"
        )
    return cfg, checkpoint


def _restore(path: Path, checkpoint: dict[str, Any], s: Session) -> None:
    """Load a checked resume checkpoint (:func:`read_run`) into the session."""
    training = checkpoint["training"]
    try:
        s.model.load_state_dict(checkpoint["state_dict"])
        s.optimizer.load_state_dict(training["optimizer"])
        if s.ema is not None:
            s.ema.model.load_state_dict(training["ema"])
        if s.adversary is not None:
            s.adversary.load(training["discriminators"])
        torch.set_rng_state(training["rng"]["torch"])
    except (RuntimeError, ValueError, KeyError, TypeError, IndexError) as e:
        detail = " ".join(str(e).split())[:160]
        raise WavesrError(f"{path}: does not fit the run's network and config ({detail})") from None
    s.progress = Progress(**{f.name: training[f.name] for f in dataclasses.fields(Progress)})
    if "cuda" in training["rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(training["rng"]["cuda"])


TRAIN_CONFIG_KEY = "train_config"  # where every checkpoint of a run (last, best, model) keeps its TrainConfig
RUN_FILES = (
    "config.json",
    "last.pt",
    "best.pt",
    "model.pt",
    "metrics.jsonl",
    "metrics.csv",
)  # what a run writes


def check_run_folder(run: Path, force: bool) -> None:
    """Refuse to start a run where one was (unless ``force``), and never restart in a folder whose
    files wavesr did not write: ``force`` replaces a wavesr run's files and nothing else."""
    if run.exists() and not run.is_dir():
        raise WavesrError(f"{run}: exists and is not a folder")
    present = [name for name in RUN_FILES if os.path.lexists(run / name)]
    if not present:
        return
    if not force:
        resume = "--resume to continue from last.pt, " if "last.pt" in present else ""
        raise WavesrError(
            f"{run}: already holds a training run ({', '.join(present)}); use {resume}--force to "
            "start it again, or another folder"
        )
    foreign = [name for name in present if name.endswith(".pt") and not made_by_wavesr(run / name)]
    config = run / "config.json"
    if not foreign and config.exists():
        try:
            ok = set(read_json(config)) >= {"train", "model", "data"}
        except (WavesrError, TypeError):
            ok = False
        foreign += [] if ok else ["config.json"]
    if foreign or not any(name.endswith(".pt") or name == "config.json" for name in present):
        raise WavesrError(
            f"{run}: {', '.join(foreign or present)} not written by a wavesr run; --force only "
            "restarts wavesr's own runs (choose another folder)"
        )


@dataclass
class Trained:
    """What :func:`train` made: the run folder and the trained network (this process's replica under DDP;
    the moving average of the weights with ``ema``)."""

    run: Path
    model: torch.nn.Module


@dataclass
class Progress:
    """Where a run is: what every checkpoint's ``training`` entry stores besides the optimizer and RNG."""

    step: int  # optimizer steps taken
    total: int  # steps the run will take (fixed from the measured speed when max_minutes is set)
    planned: bool  # whether ``total`` is final
    best: float = math.inf  # the lowest validation score so far (file LSD, else patch L2)
    elapsed: float = 0.0  # seconds of training before this session (resumed runs)


@dataclass
class Session:
    """One process's training run: the data, the network and its optimizer, and where it stands."""

    cfg: TrainConfig
    run: Path
    d: _Dist
    device: torch.device
    amp_dtype: torch.dtype | None
    data: PatchDataset
    augmented: Any  # the data as the loader reads it (augmentations wrapped around it)
    model: Upsampler
    net: torch.nn.Module  # the model, or its DistributedDataParallel wrapper
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    ema: WeightAverage | None
    loss_name: str
    sampler: DistributedSampler[int]
    steps_per_epoch: int
    cap: int  # the most steps the run may take (epochs, max_steps)
    progress: Progress
    validator: Validator | BandValidator | None = None
    writer: Any = None
    adversary: Adversary | None = None  # the discriminators with --adv-weight

    @property
    def averaged(self) -> Upsampler:
        """The weights validation scores and best.pt / model.pt hold (the moving average with ema)."""
        return self.ema.model if self.ema is not None else self.model  # type: ignore[return-value]


def train(cfg: TrainConfig, resume: bool = False, force: bool = False, progress: bool = True) -> Trained:
    """Train ``cfg.model`` on ``cfg.data``; returns the run folder and the network.

    ``resume`` continues from ``RUN/last.pt`` with the configuration stored in the run folder.
    A run folder that already holds a run is refused unless ``resume`` or ``force``
    (:func:`check_run_folder`).
    """
    run = Path(cfg.out)
    checkpoint = None
    if resume:
        cfg, checkpoint = read_run(run)
    else:
        check_run_folder(run, force)
    s = _setup(cfg.check(), run, checkpoint)
    _loop(s, progress)
    final = s.averaged
    if s.d.main:
        save_model(final, run / "model.pt", extra={TRAIN_CONFIG_KEY: dataclasses.asdict(cfg)}, force=True)
        if s.writer is not None:
            s.writer.close()
    _barrier(s.d)
    return Trained(run, final)


def _setup(cfg: TrainConfig, run: Path, checkpoint: dict[str, Any] | None) -> Session:
    """Everything a run needs, restored from ``checkpoint`` (a resume) or new (the run folder written)."""
    device = resolve_device(cfg.device)
    d = _init_distributed(device)
    if device.type == "cuda" and d.world > 1:
        device = torch.device("cuda", d.local_rank)
    data = PatchDataset(cfg.data)
    torch.manual_seed(cfg.seed)  # the same initial weights in every run and on every rank
    full_band = bool(getattr(model_class(cfg.model), "full_band", False))
    if full_band and cfg.mix_channel:
        raise WavesrError(f"{cfg.model} learns from random channels (--channels), not --mix-channel")
    if set(cfg.model_config) & set(RUNNING):
        raise WavesrError(
            f"--set {', '.join(sorted(set(cfg.model_config) & set(RUNNING)))}: set by training itself"
        )
    families = cfg.channel_families() or (TRAINING_FAMILIES if full_band else ())
    # the channel inference matches: the data's own (and the mix), or many (real input then goes in as is)
    channel = f"channels:{','.join(families)}" if families else channel_mix(data.channel, cfg.mix_channel)
    rates = {"sr": data.sr} if full_band else {"ratio": data.ratio, "sr": data.sr}
    model = build_model(cfg.model, **rates, **cfg.model_config, channel=channel).to(device)
    loss_name = getattr(model, "default_loss", "l2") if cfg.loss == "auto" else cfg.loss
    if loss_name == "lps" and not hasattr(model, "lps_loss"):
        raise WavesrError(f"--loss lps is the DNN baseline's objective; {cfg.model} has none")
    if loss_name == "lps" and d.world > 1:
        raise WavesrError(
            "--loss lps does not run under DistributedDataParallel; train the DNN on one process"
        )
    if cfg.adv_weight > 0 and not (full_band and loss_name == "band" and d.world == 1):
        raise WavesrError(
            f"--adv-weight trains discriminators for a full-band network with the band loss on one process, "
            f"not {cfg.model} with loss {loss_name}" + (f" on {d.world} processes" if d.world > 1 else "")
        )
    augmented: Any = BrightnessAugment(data, cfg.brightness_db, cfg.seed) if cfg.brightness_db > 0 else data
    if cfg.mix_channel:
        augmented = DegradeMix(augmented, data.ratio, cfg.mix_channel, cfg.mix_fraction, cfg.seed)
    if families:  # a full-band network reads only the patches' full-band side, through the channels
        augmented = ChannelDraw(augmented, families, cfg.seed, ratio=1 if full_band else data.ratio)
    if cfg.target_band != "full":
        if loss_name != "band":
            raise WavesrError(f"--target-band {cfg.target_band} is the band loss's option, not {loss_name}'s")
        # batches of (input, target, the band of the target left out)
        augmented = WithCutoff(augmented, data, format_top=cfg.target_band == "source-rate")
    sampler: DistributedSampler[int] = DistributedSampler(
        data, num_replicas=d.world, rank=d.rank, shuffle=True, seed=cfg.seed, drop_last=True
    )
    steps_per_epoch = len(sampler) // cfg.batch_size
    if steps_per_epoch == 0:
        raise WavesrError(
            f"{cfg.data}: {len(data)} patches is fewer than one batch of {cfg.batch_size} per process"
        )
    cap = (
        cfg.epochs * steps_per_epoch
        if cfg.max_steps is None
        else min(cfg.epochs * steps_per_epoch, cfg.max_steps)
    )
    amp_dtype = _autocast_dtype(cfg.precision, device)
    s = Session(
        cfg=cfg,
        run=run,
        d=d,
        device=device,
        amp_dtype=amp_dtype,
        data=data,
        augmented=augmented,
        model=model,
        net=torch.nn.parallel.DistributedDataParallel(model) if d.world > 1 else model,
        optimizer=torch.optim.Adam(model.parameters(), lr=cfg.lr),
        scaler=torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16),
        ema=WeightAverage(model, cfg.ema) if cfg.ema > 0 else None,
        loss_name=loss_name,
        sampler=sampler,
        steps_per_epoch=steps_per_epoch,
        cap=cap,
        progress=Progress(0, cap, planned=cfg.max_minutes is None),
        adversary=Adversary(cfg, device, amp_dtype == torch.float16) if cfg.adv_weight > 0 else None,
    )
    if checkpoint is not None:
        _restore(run / "last.pt", checkpoint, s)
    else:
        if cfg.init:
            _initial_weights(cfg.init, s)
        torch.manual_seed(cfg.seed + d.rank)
        if d.main:
            _new_run_folder(s)
    if d.main:  # temporary files of writes a killed run left behind (never a checkpoint itself)
        for stale in run.glob(".*.tmp.*"):
            stale.unlink(missing_ok=True)
        s.validator = (
            BandValidator(cfg.val_data, cfg.val_patches, families)
            if full_band
            else Validator(cfg.val_data, cfg.val_patches, cfg.val_files)
        )
        s.writer = _tensorboard(run)
    _barrier(d)
    return s


def _initial_weights(source: str, s: Session) -> None:
    """``--init``: the network's weights (and the moving average's) from a checkpoint or run folder of
    the same network and settings; the optimizer starts afresh."""
    from .pretrained import checkpoint_path

    path = checkpoint_path(source)
    checkpoint = read_checkpoint(path)
    # its config as it loads (settings added since it was saved take their defaults)
    as_loaded = {**checkpoint, "config": current_config(checkpoint)}
    stored, own = (
        architecture(model_from_checkpoint(as_loaded, source=str(path)).config),
        architecture(s.model.config),
    )
    if checkpoint["model"] != s.cfg.model or stored != own:
        other = {k: v for k, v in stored.items() if own.get(k) != v}
        raise WavesrError(
            f"--init {path}: holds a {checkpoint['model']} network with other settings than this run's "
            f"{s.cfg.model} ({', '.join(f'{k}={v}' for k, v in sorted(other.items()))[:160]})"
        )
    try:
        s.model.load_state_dict(checkpoint["state_dict"])
    except RuntimeError as e:
        raise WavesrError(f"--init {path}: weights do not fit ({' '.join(str(e).split())[:160]})") from None
    if s.ema is not None:
        s.ema.model.load_state_dict(s.model.state_dict())


def _new_run_folder(s: Session) -> None:
    """A new run's folder: the files of a run restarted with force go (checked to be wavesr's), the
    config is written."""
    s.run.mkdir(parents=True, exist_ok=True)
    for name in RUN_FILES:
        if (s.run / name).is_file():
            (s.run / name).unlink()
    model = {"name": s.cfg.model, **dataclasses.asdict(s.model.config)}
    write_json(s.run / "config.json", {"train": s.cfg, "model": model, "data": s.data.settings})


def _loop(s: Session, progress: bool) -> None:
    """Epochs of steps until ``s.progress.total``: logs, checkpoints and validation along the way."""
    cfg, p = s.cfg, s.progress
    bar = tqdm(
        total=p.total,
        initial=p.step,
        disable=not (progress and s.d.main),
        desc=f"train {cfg.model}",
        unit="step",
        dynamic_ncols=True,
    )
    seconds_per_batch = cfg.batch_size * s.data.patch_len / s.data.sr * s.d.world
    last_save = t_session = t_plan = time.monotonic()
    t_start = t_session - p.elapsed
    session_steps = 0
    s.net.train()
    while p.step < p.total:
        epoch, first = divmod(p.step, s.steps_per_epoch)
        t_log, losses = time.monotonic(), []
        for batch in _batches(s, epoch, first):
            loss, lr_now = _step(s, *batch)
            losses.append(loss)
            session_steps += 1
            bar.update(1)
            if not p.planned and (session_steps == 5 or session_steps % REPLAN_EVERY == 0):
                # a first estimate after the warm-up, then the mean speed since, until the lr decays
                if session_steps == 5:
                    per_step, t_plan = (time.monotonic() - t_session) / 5, time.monotonic()
                else:
                    per_step = (time.monotonic() - t_plan) / (session_steps - 5)
                p.total = plan_steps(s, per_step, time.monotonic() - t_start)
                bar.total = p.total
            if s.d.main and (p.step % cfg.log_every == 0 or p.step == p.total):
                rate = seconds_per_batch * len(losses) / (time.monotonic() - t_log)
                row = {
                    "step": p.step,
                    "epoch": epoch,
                    "loss": float(np.mean(losses)),
                    "lr": lr_now,
                    "audio_s_per_s": rate,
                    "time": time.monotonic() - t_start,
                    **(s.adversary.log_row() if s.adversary is not None else {}),
                }
                _log(s.run, row, s.writer)
                bar.set_postfix(loss=f"{row['loss']:.2e}", audio=f"{rate:.1f}s/s")
                t_log, losses = time.monotonic(), []
            due = (cfg.checkpoint_steps and p.step % cfg.checkpoint_steps == 0) or (
                time.monotonic() - last_save
            ) / 60 >= cfg.checkpoint_minutes
            if p.step % s.steps_per_epoch == 0 or p.step >= p.total:
                p.elapsed = time.monotonic() - t_start
                _end_of_epoch(s, epoch)
                last_save = time.monotonic()
            elif due:
                p.elapsed = time.monotonic() - t_start
                if s.d.main:
                    _save(s.run / "last.pt", s.model, s, with_ema=True)
                last_save = time.monotonic()
            if p.step >= p.total:
                break
    bar.close()


def _batches(s: Session, epoch: int, first: int) -> DataLoader[Any]:
    """The batches of ``epoch`` from its ``first`` (the epoch's order comes from the seed: a resumed
    run sees the batches it has not seen, in the same order)."""
    s.sampler.set_epoch(epoch)
    if s.augmented is not s.data:
        s.augmented.set_epoch(epoch)
    order, size = list(s.sampler), s.cfg.batch_size
    batches = [order[i * size : (i + 1) * size] for i in range(first, s.steps_per_epoch)]
    return DataLoader(
        s.augmented,
        batch_sampler=batches,
        num_workers=s.cfg.workers,
        generator=torch.Generator().manual_seed(s.cfg.seed),
        persistent_workers=False,
    )


def _step(
    s: Session, lr_batch: torch.Tensor, hr_batch: torch.Tensor, cutoff: torch.Tensor | None = None
) -> tuple[float, float]:
    """One optimizer step on a batch at the step's learning rate (with ``cutoff``, ``[batch, 2]``,
    the band loss without each target's band between those frequencies); returns the loss and that rate."""
    cfg, p = s.cfg, s.progress
    rate = learning_rate(cfg, p.step, p.total)
    for group in s.optimizer.param_groups:
        group["lr"] = rate
    lr_batch, hr_batch = lr_batch.to(s.device, non_blocking=True), hr_batch.to(s.device, non_blocking=True)
    with torch.autocast(s.device.type, dtype=s.amp_dtype, enabled=s.amp_dtype is not None):
        if s.loss_name == "lps":  # Li et al.'s log-power-spectrum objective (DNN baseline)
            loss = s.model.lps_loss(lr_batch, hr_batch)  # type: ignore[operator]
        else:
            pred = s.net(lr_batch).float()
            if cutoff is not None:
                cutoff = cutoff.to(s.device)
            loss = loss_fn(s.loss_name, pred, hr_batch, cfg.stft_weight, cfg.wave_weight, cutoff, s.data.sr)
            if s.adversary is not None:  # the discriminators' step, then their terms (wavesr.adversarial)
                real, fake = s.adversary.judged(hr_batch.float(), pred)
                s.adversary.train_step(real, fake, rate)
                if p.step >= cfg.adv_start:
                    loss = loss + s.adversary.generator_terms(real, fake)
    if not torch.isfinite(loss):
        raise WavesrError(
            f"training diverged at step {p.step} (loss {loss.item()}); lower --lr or set --grad-clip"
        )
    s.optimizer.zero_grad(set_to_none=True)
    s.scaler.scale(loss).backward()
    if cfg.grad_clip:
        s.scaler.unscale_(s.optimizer)
        torch.nn.utils.clip_grad_norm_(s.model.parameters(), cfg.grad_clip)
    s.scaler.step(s.optimizer)
    s.scaler.update()
    if s.ema is not None:
        s.ema.update(s.model, p.step)
    p.step += 1
    return float(loss.item()), rate


def plan_steps(s: Session, per_step: float, elapsed: float) -> int:
    """The total steps that fit ``max_minutes`` at ``per_step`` seconds a step.

    Planned again every ``REPLAN_EVERY`` steps from the mean speed since the warm-up (validation
    and checkpoints included), so that a machine busy at the start does not fix a run short, until
    the learning-rate decay begins at half the total; the total is never put below twice the
    current step, so the rate already used stays right. The run may still end somewhat past the
    budget if the machine slows down during the decay.
    """
    assert s.cfg.max_minutes is not None  # planned is False only with a time budget
    remaining = max(0.0, s.cfg.max_minutes * 60 - elapsed)
    budget = torch.tensor([s.progress.step + remaining / per_step], dtype=torch.float64)
    if s.d.world > 1:
        dist.broadcast(budget, 0)
    step = s.progress.step
    total = min(s.cap, max(int(budget.item()), 2 * step))
    s.progress.planned = 2 * step >= total
    return total


def _end_of_epoch(s: Session, epoch: int) -> None:
    """Validate (best.pt when it improved), log and write last.pt; every rank waits for it."""
    p = s.progress
    if s.d.main:
        row: dict[str, Any] = {"step": p.step, "epoch": epoch + 1, "time": p.elapsed}
        if s.validator is not None and s.validator.enabled:
            scores = s.validator(s.averaged, s.device)
            base = s.validator.baseline_name
            row["val"] = {**scores, **{f"{base}_{k}": v for k, v in s.validator.baseline.items()}}
            key = next(k for k in s.validator.key_order if k in scores)
            if scores[key] < p.best:
                p.best = scores[key]
                _save(s.run / "best.pt", s.averaged, s, with_ema=False)
            tqdm.write(_describe(row))
        _log(s.run, row, s.writer)
        _save(s.run / "last.pt", s.model, s, with_ema=True)
    _barrier(s.d)


def _describe(row: dict[str, Any]) -> str:
    v = row["val"]
    parts = [f"epoch {row['epoch']} step {row['step']}:"]
    for key, label in (
        ("file_snr", "SNR"),
        ("file_lsd", "LSD"),
        ("file_lsd_standard", "LSD-std"),
        ("patch_snr", "patch SNR"),
        ("patch_lsd", "patch LSD"),
        ("patch_lsd_hf", "LSD-HF"),
    ):
        if key in v:
            base = next(b for b in ("cubic", "input") if f"{b}_{key}" in v)
            parts.append(f"{label} {v[key]:.2f} ({base} {v[base + '_' + key]:.2f})")
    return " ".join(parts)
