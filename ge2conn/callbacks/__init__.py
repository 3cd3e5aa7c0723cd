"""ge2conn.callbacks."""

from ge2conn.callbacks.augmentation import TargetAugmentation, augmentation_probability

__all__ = ["TargetAugmentation", "augmentation_probability"]
