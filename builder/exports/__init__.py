"""What a run gives away: the classic train.py (classic), the GAN one (gan_export), the notebook, TFLite."""
