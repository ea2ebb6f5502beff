"""Every patch of another library's internals, one package per library."""
