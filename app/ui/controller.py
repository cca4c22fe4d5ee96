"""Kept for imports of the old location: the labeling controller lives in app.ui.labeling."""
from app.ui.labeling import DEFAULT_LABEL, LabelingController, image_key
from app.ui.labeling.navigation import PREFETCH_DELAY_MS

__all__ = ["DEFAULT_LABEL", "LabelingController", "PREFETCH_DELAY_MS", "image_key"]
