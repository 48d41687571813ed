"""Model registry, loaders, DICOM-to-tensor preprocessing and batched inference.

The public modules, each one concept:

- `qms.models.card`: the model card a release needs, validated on read;
- `qms.models.fileset`: a model folder's files and their sha256, checked on every load;
- `qms.models.registry`: register, list, show and load (hash-checked) model versions;
- `qms.models.stages`: development -> staging -> production, production only on release evidence;
- `qms.models.loaders`: Hugging Face image classifiers, plain torch modules (2-D or study models), report
  generators (`qms.models.image_to_text`) and LoRA adapters over their base (`qms.models.adapters`);
- `qms.models.preprocess`, `qms.models.transforms`, `qms.models.volume`: DICOM image or series to tensor;
- `qms.models.study`: a multi-sequence study (its hashed index) to the (C, D, H, W) tensor its card states;
- `qms.models.inference`: batched, recorded inference over files or a dataset manifest;
- `qms.models.generation`: batched, seeded report generation; `qms.models.precision`: bf16/fp16 against fp32;
- `qms.models.nets`: small reference networks the examples train (3-D CNN, ViT-to-GPT-2, word tokenizer);
- `qms.models.training`: the seeded, recorded training run that makes a model version.

Nothing is imported here, so `import qms.models` never pulls in torch.
"""
