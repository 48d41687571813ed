"""Model registry, loaders, DICOM-to-tensor preprocessing and batched inference.

The public modules, each one concept:

- `qms.models.card`: the model card a release needs, validated on read;
- `qms.models.fileset`: a model folder's files and their sha256, checked on every load;
- `qms.models.registry`: register, list, show and load (hash-checked) model versions;
- `qms.models.stages`: development -> staging -> production, production only on release evidence;
- `qms.models.loaders`: Hugging Face image classifiers and plain torch modules;
- `qms.models.preprocess`, `qms.models.transforms`, `qms.models.volume`: DICOM image or series to tensor;
- `qms.models.inference`: batched, recorded inference over files or a dataset manifest;
- `qms.models.training`: the seeded, recorded training run that makes a model version.

Nothing is imported here, so `import qms.models` never pulls in torch.
"""
