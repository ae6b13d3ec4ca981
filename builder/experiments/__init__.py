"""The experiment: model + data + training settings (experiment), its GAN form (gan), ready-made ones
(templates), whether the data fits the model (shapes), what one training step costs (compute), and an
experiment made for a data file alone (headless: `python -m builder train --data`)."""

__all__ = ["compute", "experiment", "gan", "headless", "shapes", "templates"]  # its public modules (docs/interfaces.md)
