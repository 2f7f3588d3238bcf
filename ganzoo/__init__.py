"""ganzoo: a Keras 3 multi-backend GAN model zoo."""

__version__ = "0.1.0"
