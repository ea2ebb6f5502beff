"""aiortc: what the forwarding unit needs that aiortc does not export."""
