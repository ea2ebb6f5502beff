"""Sabak's clients: the phone-browser web client (client/web) and a Python client."""

from client.rest import RestClient
from client.sabak_client import CallFailed, SabakClient

__all__ = ["CallFailed", "RestClient", "SabakClient"]
