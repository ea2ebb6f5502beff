"""Sabak's server: the aiohttp application, the domain core and the Redis store."""
