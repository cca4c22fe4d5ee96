"""Automatic mask generation ("segment everything"); see `generator.AutomaticMaskGenerator`."""
from sam_backend.amg.decode import DecodedPoints, PointDecoder, SamPointDecoder
from sam_backend.amg.generator import AutomaticMaskGenerator, MaskRecord

__all__ = ["AutomaticMaskGenerator", "DecodedPoints", "MaskRecord", "PointDecoder", "SamPointDecoder"]
