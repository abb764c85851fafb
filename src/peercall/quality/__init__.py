"""Call-quality model (mirrors ``web/sdk/quality.js``; see docs/quality.md)."""

from peercall.quality.model import Assessment, DirectionQuality, assess, emodel, worse

__all__ = ["Assessment", "DirectionQuality", "assess", "emodel", "worse"]
