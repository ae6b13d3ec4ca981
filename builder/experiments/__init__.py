"""The experiment: model + data + training settings (experiment), its GAN form (gan), ready-made ones (templates)."""
