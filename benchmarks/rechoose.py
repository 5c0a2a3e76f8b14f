"""Choose a shipped full-band model's run settings again, on validation, keeping its weights; score
the choice on the test split and reship it (registry entry, headline scores, model card).

The candidates are the shipped weights at every strength of ``wavesr.fullband.STRENGTHS``, with and
without the input's transition band lifted (``--equalize``), scored by ``wavesr.fullband.validate``
and chosen by ``wavesr.fullband.choose``: what ``wavesr recipe NAME`` does after training, run on
the weights it shipped. The test split is then scored as the recipe scores it
(``wavesr.fullband_recipes.evaluate_recipe``: both output rates, the protocol's channel and the
three held-out ones, beside sinc and cubic), and the card is written by the recipe's
``model_card``, with the training paragraph of the card it replaces.

    python benchmarks/rechoose.py speech-48k --stage stage2 --work runs/rechoose-speech
    python benchmarks/rechoose.py music-48k --stage stage3 --work runs/rechoose-music

``--candidate STAGE=PATH`` adds weights trained on from the shipped ones (a later stage of the
recipe, run by ``wavesr train``) beside them; the choice may then ship those weights, and
``--trained-minutes`` adds their training time to the card's.

    python benchmarks/rechoose.py speech-48k --stage stage2 --candidate stage4=runs/ft-w300/model.pt \
        --trained-minutes 35 --work runs/rechoose-speech-stage4

Without ``--ship`` it prints the choice and writes the card into the work folder only.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from datetime import date
from pathlib import Path

from wavesr.data.defaults import load_default
from wavesr.fullband import candidate, choose, validate
from wavesr.fullband_recipes import FULLBAND_RECIPES, evaluate_recipe, model_card, registry_scores
from wavesr.models.base import count_parameters, load_model_file, save_model
from wavesr.pretrained import add_model, get_model_info
from wavesr.recipes import HARDWARE


def old_training(card: str) -> tuple[float, str | None, list[str], list[str]]:
    """From the card being replaced: the minutes trained, the note after the recipe's paragraph, and
    the sources and licences the weights were trained on (the corpus may have grown since)."""
    minutes = re.search(r"Trained for ([\d.]+) min", card)
    sources = re.search(r"Sources: (.+?)\. Licences: (.+?)\.\n", card)
    section = card.split("## Recipe", 1)[-1].split("\n## ", 1)[0].strip().split("\n", 1)
    note = section[1].strip() if len(section) > 1 else ""  # after the recipe's own line
    # an earlier run of this script's paragraph is replaced by this run's
    kept = [p for p in note.split("\n\n") if p.strip() and not p.startswith("Run settings chosen again")]
    return (
        float(minutes.group(1)) if minutes else 0.0,
        "\n\n".join(kept) or None,
        sources.group(1).split(", ") if sources else [],
        sources.group(2).split("; ") if sources else [],
    )


def _int_keys(d: dict) -> dict:
    """JSON's string keys of rates back to ints (``rates``, ``sources``)."""
    return {int(k) if k.isdigit() else k: v for k, v in d.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("name", choices=sorted(FULLBAND_RECIPES), help="a shipped full-band model")
    ap.add_argument("--stage", required=True, help="what the card calls the weights (stage2, stage3)")
    ap.add_argument("--work", type=Path, required=True, help="folder for the evaluation and the card")
    ap.add_argument("--ship", action="store_true", help="replace the registry entry and the card")
    ap.add_argument(
        "--candidate", action="append", default=[], metavar="STAGE=PATH", help="more weights to choose from"
    )
    ap.add_argument("--trained-minutes", type=float, default=0.0, help="the candidates' training time")
    args = ap.parse_args()
    started = time.monotonic()
    recipe, info = FULLBAND_RECIPES[args.name], get_model_info(args.name)
    corpus = load_default(recipe.corpus)
    paths = {args.stage: Path(info.path)}
    for spec in args.candidate:
        stage, _, path = spec.partition("=")
        paths[stage] = Path(path)
    models = {stage: load_model_file(path).eval() for stage, path in paths.items()}
    args.work.mkdir(parents=True, exist_ok=True)
    saved = args.work / "validation.json"  # a rerun reuses it
    if saved.exists():
        means = json.loads(saved.read_text(), object_hook=_int_keys)
    else:
        means = validate(models, corpus.split("val"))
        saved.write_text(json.dumps(means, indent=1) + "\n")
    choice, why = choose(means)
    stage, strength, equalize = candidate(choice)
    weights = models[stage]
    print(f"{args.name}: {choice} ({why})")
    chosen = args.work / "chosen.pt"
    save_model(weights.run_as(strength=strength, equalize=equalize), chosen)
    old_minutes, note, sources, licences = old_training(
        (info.folder / info.card).read_text() if info.card else ""
    )
    minutes = old_minutes + (args.trained_minutes if stage != args.stage else 0.0)
    today = date.today().isoformat()
    lifted = (
        "on the validation split as it is scored now (a causal network without the lift, which its frames' "
        "put-back never applies)"
        if getattr(weights, "frames_put_back", False)
        else "with the input's transition band lifted or not among the candidates"
    )
    rechosen = (
        f"Run settings chosen again on {today} {lifted} (`python benchmarks/rechoose.py {args.name} "
        f"--stage {args.stage}{''.join(f' --candidate {c}' for c in args.candidate)}`): "
        + (
            f"the weights shipped until then ({args.stage}) and {', '.join(paths.keys() - {args.stage})} "
            f"trained on from them are the candidates below"
            if args.candidate
            else "the shipped weights alone are the candidates below"
        )
        + ", and the validation and test tables are from that run."
    )
    record = {
        "validation": means,
        "choice": {"candidate": choice, "rule": why},
        "evaluations": evaluate_recipe(recipe, chosen, corpus, args.work, progress=False),
        "train_seconds": minutes * 60,
        "hardware": HARDWARE,
        "licences": licences or sorted({i.licence for i in corpus.items if i.licence}),
        "sources": sources or sorted({i.source for i in corpus.items if i.source}),
        "note": "\n\n".join(filter(None, [note, rechosen])),
        "wall_seconds": time.monotonic() - started,
    }
    (args.work / "record.json").write_text(json.dumps(record, indent=2, default=str) + "\n")
    card = model_card(recipe, record, count_parameters(weights))
    (args.work / f"{args.name}.md").write_text(card)
    scores = registry_scores(record, recipe.name)
    print(json.dumps(scores, indent=1))
    if args.ship:
        add_model(
            paths[stage],
            args.name,
            info.content,
            scores=scores,
            card=card,
            recipe=info.recipe,
            force=True,
            passes=info.passes,
            channel=info.channel,
            strength=strength,
            equalize=equalize,
        )


if __name__ == "__main__":
    main()
