"""python-socketio: broadcasts without a task per recipient."""
