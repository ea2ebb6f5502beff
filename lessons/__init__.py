"""The lesson service: where lessons run, who may enter them, what is kept."""
