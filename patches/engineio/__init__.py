"""python-engineio: transport, pre-parse checks and the session gate."""
