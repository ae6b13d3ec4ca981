"""What a run gives away: the classic code (classic), the training script's sections both exporters share
(script), the GAN's code (gan_export), the notebook, TFLite."""

__all__ = ["classic", "gan_export", "notebook", "script", "tflite"]  # its public modules (docs/interfaces.md)
