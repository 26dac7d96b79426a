"""Everything that touches the outside world: stores, channels, CRMs, IVR formats."""
