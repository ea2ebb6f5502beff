"""Typed application state: every service `create_app` wires, under one `web.AppKey` each."""

from __future__ import annotations

from typing import TYPE_CHECKING

import redis.asyncio as aioredis
import socketio
from aiohttp import web

from config import Settings
from lessons.datarights import DataRights
from lessons.decks import Decks
from lessons.host import LessonHost
from lessons.media_links import MediaLinks
from lessons.recordings import Recordings
from lessons.retention import Retention
from lessons.tokens import Signer
from media.audio_clip import Clips
from media.rooms import MediaRooms
from patches.engineio.gate import Gate
from signaling.client_address import ClientAddresses
from store.audit import Audit
from store.protocols import Directory, LessonLog

SETTINGS = web.AppKey("settings", Settings)
DIRECTORY: web.AppKey[Directory] = web.AppKey("directory")
EVENTLOG: web.AppKey[LessonLog] = web.AppKey("eventlog")
LIVE: web.AppKey[LessonHost] = web.AppKey("live")
SIGNER = web.AppKey("signer", Signer)
ADMIN_KEY = web.AppKey("admin_key", bytes)
SIO = web.AppKey("sio", socketio.AsyncServer)
REDIS = web.AppKey("redis", aioredis.Redis)
AUDIT = web.AppKey("audit", Audit)
ADDRESSES = web.AppKey("addresses", ClientAddresses)
RIGHTS = web.AppKey("rights", DataRights)
RETENTION = web.AppKey("retention", Retention)
GATE = web.AppKey("gate", Gate)
MEDIA = web.AppKey("media", MediaRooms)
DECKS = web.AppKey("decks", Decks)  # .store.info(deck): a deck's pages, or None
RECORDINGS = web.AppKey("recordings", Recordings)
CLIPS = web.AppKey("clips", Clips)
MEDIA_LINKS = web.AppKey("media_links", MediaLinks)
if TYPE_CHECKING:
    from signaling.namespace import LessonNamespace
NAMESPACE: web.AppKey[LessonNamespace] = web.AppKey("namespace")
