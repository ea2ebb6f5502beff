"""The selective forwarding unit: rooms, feeds and the worker processes."""
