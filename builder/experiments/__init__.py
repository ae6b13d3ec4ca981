"""The experiment: model + data + training settings (experiment), its GAN form (gan), ready-made ones
(templates), and whether the data fits the model (shapes)."""

__all__ = ["compute", "experiment", "gan", "shapes", "templates"]  # its public modules (docs/interfaces.md)
