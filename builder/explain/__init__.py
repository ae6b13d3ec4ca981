"""Explainability: attribution maps, overlays, decision boundaries, feature maps, sanity checks.

* `explain(model, x, method, target=None, **options)` (alias `saliency`), `to_map`, `normalize`,
  `per_feature`, `per_step`, `METHODS` — methods.py
* `overlay(image, heat, alpha)` — overlay.py
* `decision_boundary(model, x2d, steps, margin)` — boundary.py
* `activations(model, layer, x)` — activations.py
* `latent_map(model, x, labels, layer)`, `code_layer(model)`, `LatentMap` — latent.py (autoencoders)
* `model_randomization_check`, `rank_correlation` — sanity.py
* `pointing_game`, `relevance_mass`, `chance` — scoring.py
* `LiveExplainCallback` — live.py (`python -m builder explain RUN` is builder/explain_cli.py, outside
  this package: it reads a run, so it stands above training)

Importing this package imports Keras (the methods need it); import it lazily
from code that should start fast.
"""
from builder.explain.activations import activations, feature_layers
from builder.explain.boundary import decision_boundary
from builder.explain.latent import LatentMap, code_layer, latent_map
from builder.explain.logits import ExplainError
from builder.explain.methods import (
    METHODS,
    TITLES,
    conv_layers,
    explain,
    gradcam_layers,
    normalize,
    per_feature,
    per_step,
    to_map,
)
from builder.explain.overlay import colorize, overlay
from builder.explain.sanity import model_randomization_check, rank_correlation
from builder.explain.scoring import chance, pointing_game, relevance_mass

saliency = explain  # the name docs/interfaces.md uses

__all__ = [
    "METHODS", "TITLES", "ExplainError", "LatentMap", "activations", "chance", "code_layer", "colorize", "conv_layers",
    "decision_boundary", "gradcam_layers", "explain", "feature_layers", "latent_map", "model_randomization_check",
    "normalize", "overlay", "per_feature", "per_step",
    "pointing_game", "rank_correlation", "relevance_mass", "saliency", "to_map",
]
