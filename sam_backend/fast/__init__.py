"""Fast routes of the SAM-family networks: the same functions as the plain modules of
`sam_backend.models`, computed with fewer operations, copies and allocations.

A route reads the parameters of a plain module and never changes them. A predictor chooses its
routes when it is made (`SamPredictor(..., fast=True)`, the default; `fast=False` runs the plain
modules, i.e. the reference arithmetic); nothing here is switched process-wide.

    routes       which route runs which plain encoder
    ops          in-place and fused helpers (Linear + GELU / + residual), the encoders' neck
    strips       chains of convolutions computed in strips of rows (high-resolution stages)
    vit          the ViT image encoder (global attention by query-row strips, chunked MLPs)
    tiny_vit     the TinyViT image encoder (BatchNorm folded, channels-last, strips, fusion)
    lowp         the opt-in low-precision encoder routes (bf16, int8)
    transformer  the two-way transformer from a cached image side, folded cross-attentions
    folded       cross-attention algebra for few tokens
    upscaling    the decoder's transposed convolutions as matrix products in tree order
    decoder      the mask decoder (and SAM-HQ's) from the pieces above
Private torch operators are reached only through `sam_backend.torch_private`.
"""
