"""Built-in plugins, discovered by entry points (pyproject.toml, group ``sam_labeler.plugins``):
the YOLO, Pascal VOC, ISAT, mask PNG and CVAT formats, one package each. Their exporters write
only through plugins.output.OutputFiles (one gate for every file written)."""
