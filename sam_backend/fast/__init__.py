"""Fast routes of the SAM-family networks: the same functions as the plain modules of
`sam_backend.models`, computed with fewer operations, copies and allocations.

A route reads the parameters of a plain module and never changes them. A predictor chooses its
routes when it is made (`SamPredictor(..., fast=True)`, the default; `fast=False` runs the plain
modules, i.e. the reference arithmetic); nothing here is switched process-wide.

    ops          in-place helpers for tensors that nobody else holds
    vit          the ViT image encoder (SDPA attention, in-place residuals and GELU)
    tiny_vit     the TinyViT image encoder (BatchNorm folded, channels-last, SDPA)
    transformer  the two-way transformer from a cached image side, folded cross-attentions
    folded       cross-attention algebra for few tokens
    upscaling    the decoder's transposed convolutions as matrix products in tree order
    decoder      the mask decoder (and SAM-HQ's) from the pieces above
"""
