"""Train the example study model from its recipe on the training manifest and write the model folder.

Seeded and single-threaded (the recipe's `threads`), so the same recipe and manifest give
the same weights. The folder holds the safetensors weights and the card, its training_data
filled from the manifest, ready for `qms model register`.

    python train.py model/train.yaml data/manifests/train.json data/deid models/mri-study-cnn-1.0.0
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import yaml

from qms.atomic import write_text
from qms.models.card import ModelCard
from qms.models.inference import CaseReader
from qms.models.nets import SmallCnn3d
from qms.validation.manifest import DatasetManifest


def main(recipe_path: Path, manifest_path: Path, data: Path, out: Path) -> None:
    recipe = yaml.safe_load(recipe_path.read_text(encoding="utf-8"))
    template = yaml.safe_load((recipe_path.parent / recipe["card_template"]).read_text(encoding="utf-8"))
    manifest = DatasetManifest.from_file(manifest_path)
    template["training_data"] = {"summary": f"{len(manifest.entries)} synthetic studies ({manifest.name})",
                                 "manifest_sha256": manifest.sha256}
    card = ModelCard.model_validate(template)
    torch.manual_seed(recipe["seed"])
    torch.set_num_threads(recipe["threads"])
    read = CaseReader(card)
    x = torch.stack([read(data / e.file) for e in manifest.entries])
    y = torch.tensor([[float(e.labels[name] or 0) for name in card.output_labels] for e in manifest.entries])
    net = SmallCnn3d(card.input.channels, len(card.output_labels), recipe["width"])
    optimiser = torch.optim.Adam(net.parameters(), lr=recipe["learning_rate"])
    loss_fn = torch.nn.BCEWithLogitsLoss()
    for _ in range(recipe["epochs"]):
        for batch in torch.randperm(len(x)).split(recipe["batch_size"]):
            optimiser.zero_grad()
            loss_fn(net(x[batch]), y[batch]).backward()
            optimiser.step()
    from safetensors.torch import save_file

    out.mkdir(parents=True)
    save_file(net.state_dict(), str(out / "model.safetensors"))
    write_text(out / "model_card.yaml", yaml.safe_dump(card.to_json(), sort_keys=False))
    print(f"trained on {len(x)} studies; wrote {out}")


if __name__ == "__main__":
    main(*(Path(a) for a in sys.argv[1:5]))
