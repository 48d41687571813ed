"""Train the example report generator, or a LoRA adapter over it, from the recipe; write the model folder.

    python train.py base model/train.yaml data/manifests/train.json data/deid data/raw/reports.csv OUT
    python train.py adapter model/train.yaml data/manifests/train.json data/deid data/raw/reports.csv OUT BASE

`base` builds the word-level tokenizer from the training reports and a tiny ViT-to-GPT-2
generator (`qms.models.nets`), trains it teacher-forced, and saves model, tokenizer and card.
`adapter` fine-tunes a LoRA adapter (peft) over the base folder on one site's training images
and saves only the adapter with its card; it is registered with `--parent` naming the base.
Seeded and single-threaded, so the same recipe and manifest give the same weights.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

import torch
import yaml

from qms.atomic import write_text
from qms.models.card import ModelCard
from qms.models.loaders import quiet_transformers
from qms.models.nets import report_generator, word_tokenizer
from qms.models.preprocess import to_tensor
from qms.validation.manifest import DatasetManifest


def _fit(model: Any, tokenizer: Any, x: torch.Tensor, texts: list[str], epochs: int, batch: int, lr: float) -> None:
    ids = tokenizer(texts, padding=True, return_tensors="pt").input_ids
    labels = ids.masked_fill(ids == tokenizer.pad_token_id, -100)
    optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    model.train()
    for _ in range(epochs):
        for rows in torch.randperm(len(x)).split(batch):
            optimiser.zero_grad()
            model(pixel_values=x[rows], labels=labels[rows, 1:]).loss.backward()
            optimiser.step()
    model.eval()


def main(mode: str, recipe_path: Path, manifest_path: Path, data: Path, reports_csv: Path, out: Path,
         base: Path | None = None) -> None:
    recipe = yaml.safe_load(recipe_path.read_text(encoding="utf-8"))
    template = yaml.safe_load((recipe_path.parent / recipe["card_template"]).read_text(encoding="utf-8"))
    manifest = DatasetManifest.from_file(manifest_path)
    reports = {r["file"]: r["reference"] for r in csv.DictReader(reports_csv.open(encoding="utf-8"))}
    entries = [e for e in manifest.entries if mode == "base" or e.attributes.get("site") == recipe["lora"]["site"]]
    template["training_data"] = {"summary": f"{len(entries)} synthetic images and reports ({manifest.name}"
                                            f"{'' if mode == 'base' else ', ' + recipe['lora']['site']})",
                                 "manifest_sha256": manifest.sha256}
    card = ModelCard.model_validate(template)
    torch.manual_seed(recipe["seed"])
    torch.set_num_threads(recipe["threads"])
    x = torch.stack([to_tensor(data / e.file, card.input) for e in entries])
    texts = [reports[e.file] for e in entries]
    out.mkdir(parents=True)
    if mode == "base":
        tokenizer = word_tokenizer(reports.values(), out)
        model = report_generator(tokenizer, image_size=recipe["image_size"], channels=card.input.channels,
                                 hidden=recipe["hidden"], layers=recipe["layers"], heads=recipe["heads"])
        _fit(model, tokenizer, x, texts, recipe["epochs"], recipe["batch_size"], recipe["learning_rate"])
        with quiet_transformers():
            model.save_pretrained(out)
        write_text(out / "model_card.yaml", yaml.safe_dump(card.to_json(), sort_keys=False))
    else:
        from peft import LoraConfig, get_peft_model
        from transformers import AutoTokenizer, VisionEncoderDecoderModel

        assert base is not None
        tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
        with quiet_transformers():
            model = VisionEncoderDecoderModel.from_pretrained(base, local_files_only=True)
        lora = recipe["lora"]
        peft = get_peft_model(model, LoraConfig(r=lora["r"], lora_alpha=lora["alpha"], target_modules=lora["targets"]))
        _fit(peft, tokenizer, x, texts, lora["epochs"], recipe["batch_size"], lora["learning_rate"])
        with quiet_transformers():
            peft.save_pretrained(str(out))
        adapter_card = {**card.to_json(), "architecture": {"format": "lora", "weights": "adapter_model.safetensors"}}
        write_text(out / "model_card.yaml", yaml.safe_dump(adapter_card, sort_keys=False))
    print(f"trained {mode} on {len(entries)} images; wrote {out}")


if __name__ == "__main__":
    args = sys.argv[1:]
    main(args[0], *(Path(a) for a in args[1:6]), base=Path(args[6]) if len(args) > 6 else None)
