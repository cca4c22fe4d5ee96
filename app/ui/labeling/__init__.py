"""The labeling loop's controller, split by concern (see app.ui.labeling.controller)."""
from app.ui.labeling.controller import LabelingController
from app.ui.labeling.state import DEFAULT_LABEL, image_key

__all__ = ["DEFAULT_LABEL", "LabelingController", "image_key"]
