"""Exception types raised by sam_backend. Every message is one human sentence."""
from __future__ import annotations


class SamBackendError(Exception):
    """Base class of every error sam_backend raises on purpose."""


class UnknownModel(SamBackendError, KeyError):
    """A model id that is not in the registry."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else "unknown model"


class CheckpointMissing(SamBackendError):
    """No verified checkpoint for the model is installed in the model cache."""


class CheckpointError(SamBackendError):
    """A checkpoint file is unreadable, truncated, or belongs to another model."""


class DownloadError(SamBackendError):
    """A download failed (network, HTTP status, checksum, disk full, cancelled)."""


class DownloadCancelled(DownloadError):
    """The user cancelled a download (Ctrl+C or the GUI's cancel button)."""


class ImageFormatError(SamBackendError, ValueError):
    """An image array the predictor cannot interpret (wrong shape or dtype)."""


class EncodeAborted(SamBackendError):
    """An encode was stopped early because its `should_abort` callback returned True (not a failure)."""


class MaskGenerationCancelled(SamBackendError):
    """An automatic mask generation was stopped by its cancel event/callback (not a failure)."""
