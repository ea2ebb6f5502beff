"""The selective forwarding unit: a lesson's room, its slots and feeds, its worker processes."""
