"""python-socketio: broadcasts without a task per recipient (`broadcast`), checked at start."""
