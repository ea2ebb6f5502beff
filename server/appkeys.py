"""Typed application state: every service `create_app` wires, under one `web.AppKey` each."""

from __future__ import annotations

from typing import TYPE_CHECKING

import redis.asyncio as aioredis
import socketio
from aiohttp import web

from config import Settings
from server.audit import Audit
from server.client_address import ClientAddresses
from server.datarights import DataRights
from server.directory import Directory
from server.eventlog import EventLog
from server.live import LiveLessons
from server.retention import Retention
from server.tokens import Signer
from signaling.gate import Gate

SETTINGS = web.AppKey("settings", Settings)
DIRECTORY = web.AppKey("directory", Directory)
EVENTLOG = web.AppKey("eventlog", EventLog)
LIVE = web.AppKey("live", LiveLessons)
SIGNER = web.AppKey("signer", Signer)
ADMIN_KEY = web.AppKey("admin_key", bytes)
SIO = web.AppKey("sio", socketio.AsyncServer)
REDIS = web.AppKey("redis", aioredis.Redis)
AUDIT = web.AppKey("audit", Audit)
ADDRESSES = web.AppKey("addresses", ClientAddresses)
RIGHTS = web.AppKey("rights", DataRights)
RETENTION = web.AppKey("retention", Retention)
GATE = web.AppKey("gate", Gate)
if TYPE_CHECKING:
    from signaling.namespace import LessonNamespace
NAMESPACE: web.AppKey[LessonNamespace] = web.AppKey("namespace")
