"""What the proposal panels share (text prompts, segment everything): the canvas overlay, the
thread converting accepted proposals to annotations, and the panel widgets."""
from __future__ import annotations

from app.ui.proposals.converter import ConvertedBatch, ProposalConverter, batch_of
from app.ui.proposals.overlay import DrawnProposal, ProposalsItem
from app.ui.proposals.widgets import ProposalList, ProposalRow, ThresholdSlider, swatch

__all__ = ["ConvertedBatch", "DrawnProposal", "ProposalConverter", "ProposalList", "ProposalRow", "ProposalsItem",
           "ThresholdSlider", "batch_of", "swatch"]
