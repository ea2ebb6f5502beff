"""The composition root: `create_app(settings)` wires Redis, the log, lessons and sockets."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis
import socketio
from aiohttp import web
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from config import Settings
from config.settings import in_memory
from core.rules import Rules
from lessons.bus import LessonBus
from lessons.clustered import ClusterHost
from lessons.datarights import DataRights
from lessons.decks import Decks
from lessons.host import LessonHost, LocalHost, MediaHandler
from lessons.live import LiveLessons
from lessons.media_links import MediaLinks
from lessons.recordings import Recordings
from lessons.retention import Retention
from lessons.tokens import Signer, load_or_create_secret
from media.audio_clip import Clips
from media.rooms import MediaRooms
from media.turn import IceServers
from patches.aiortc.check import check_internals as check_aiortc
from patches.engineio.check import check_internals as check_engineio
from patches.engineio.drops import drop_all, watch_slow
from patches.engineio.gate import Gate
from patches.engineio.guard import guard, watch_connect
from patches.engineio.websocket import use_sabak_websocket
from patches.socketio.broadcast import manager_class
from patches.socketio.check import check_internals as check_socketio
from server import appkeys as k
from server.deck_routes import deck_routes
from server.http_limits import MAX_PACKET_BYTES, polling_body_limit
from server.manage_routes import manage_routes
from server.openapi import openapi_route
from server.recording_routes import recording_routes
from server.refusals import refusals
from server.report_routes import report_routes
from server.routes import routes
from server.web import add_web, security_headers
from signaling.board import deck_lookup
from signaling.catch_up import CatchUp
from signaling.client_address import ClientAddresses, bucket
from signaling.fanout import Fanout
from signaling.guest_gate import GuestGate
from signaling.namespace import LessonNamespace
from signaling.recording import RecordingWatch
from signaling.rejoin import Rejoin
from signaling.waiting import WaitingSweep
from store.cluster import Cluster
from store.decks import DeckStore
from store.notices import Notices
from store.redis_connect import connect
from store.redis_launcher import EmbeddedRedis
from store.redis_reach import ensure_redis
from store.stores import make_stores
from store.tail import LogTail

log = logging.getLogger(__name__)

# A client that stopped reading is cut off past this many packets waiting for it (about a
# minute of a busy lesson); it reconnects and resumes as the same participant.
MAX_QUEUED_PACKETS = 2000
REDIS_CONNECTIONS = 64


def rules_from(settings: Settings) -> Rules:
    s = settings.lesson
    return Rules(
        chat_max_chars=s.chat_max_chars,
        chat_rate_messages=s.chat_rate_messages,
        chat_rate_window_ms=int(s.chat_rate_window_s * 1000),
        chat_history_replay=s.chat_history_replay,
        hand_rate_per_minute=s.hand_rate_per_minute,
        check_window_ms=int(settings.attendance.check_window_s * 1000),
        grace_ms=int(settings.auth.resume_grace_s * 1000),
        quiz_max_extension_ms=int(s.quiz_max_extension_s * 1000),
        waiting_room_max=s.waiting_room_max,
        events_per_minute=s.events_per_minute,
        join_rate_per_minute=s.join_rate_per_minute,
        visibility_interval_ms=int(s.visibility_interval_s * 1000),
        answer_changes=s.answer_changes,
        max_events=s.max_events,
        auto_end_no_teacher_ms=int(s.auto_end_no_teacher_min * 60_000),
        auto_end_after_ms=int(
            (settings.attendance.planned_lesson_min + s.auto_end_overrun_min) * 60_000
        ),
        record_by_default=settings.recording.default,
    )


def origin_check(settings: Settings) -> Any:
    """socket.io accepts our own origin (from the Host header) and the configured extras."""
    extra = set(settings.server.allowed_origins) | {settings.public_base_url}

    def allowed(origin: str | None, environ: dict[str, Any]) -> bool:
        if origin is None:
            return True  # not a browser: native clients send no Origin
        scheme = environ.get("wsgi.url_scheme", "http")
        own = f"{scheme}://{environ.get('HTTP_HOST', '')}"
        return origin == own or origin in extra

    return allowed


def create_app(settings: Settings) -> web.Application:
    check_engineio()
    check_socketio()
    check_aiortc()  # media forwarding relies on them: refuse to start if moved
    app = web.Application(
        middlewares=[security_headers, refusals, polling_body_limit],
        client_max_size=settings.server.max_http_body_bytes,
    )
    app[k.SETTINGS] = settings
    app[k.ADDRESSES] = ClientAddresses(settings.server.trusted_proxies)
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        client_manager=_manager(settings),
        cors_allowed_origins=origin_check(settings),
        max_http_buffer_size=MAX_PACKET_BYTES,
        ping_interval=settings.server.ping_interval_s,
        ping_timeout=settings.server.ping_timeout_s,
        http_compression=True,
        compression_threshold=1024,
    )
    sio.attach(app, socketio_path="socket.io")
    use_sabak_websocket(sio, compress=settings.server.websocket_deflate)
    app[k.GATE] = gate = Gate(
        settings.server.sessions_per_address, settings.server.connect_timeout_s
    )
    addresses = app[k.ADDRESSES]  # behind a trusted proxy, the client's own; IPv6 by /64
    guard(sio, gate, lambda environ: bucket(addresses.of_environ(environ)))
    app[k.SIO] = sio
    app.cleanup_ctx.append(_redis_ctx)
    app.cleanup_ctx.append(_services_ctx)
    app.on_shutdown.append(_closing)
    app.router.add_routes(routes)
    app.router.add_routes(report_routes)
    app.router.add_routes(manage_routes)
    app.router.add_routes(deck_routes)
    app.router.add_routes(recording_routes)
    app.router.add_get("/api/openapi.json", openapi_route)
    add_web(app, settings)
    return app


def _manager(settings: Settings) -> socketio.AsyncManager:
    """Broadcasts without a task per recipient; with several processes, through Redis."""
    if not settings.server.cluster or settings.redis.url is None:
        return manager_class(socketio.AsyncManager)()
    channel = f"{settings.redis.key_prefix}-socketio"
    return manager_class(socketio.AsyncRedisManager)(settings.redis.url, channel=channel)


def _host(settings: Settings, redis: aioredis.Redis | None, lessons: LiveLessons,
          media: MediaHandler) -> LessonHost:  # fmt: skip
    """Where the lessons run: all here, or (several processes) each with its owner."""
    if not settings.server.cluster:
        return LocalHost(lessons, media)
    assert settings.redis.url is not None and redis is not None  # config: a cluster needs Redis
    listener = connect(settings.redis.url, decode_responses=True)
    cluster = Cluster(redis, settings.redis.key_prefix, listener)
    tail = LogTail(listener, redis, settings.redis.key_prefix)
    return ClusterHost(lessons, cluster, tail, media)


async def _redis_ctx(app: web.Application) -> AsyncIterator[None]:
    """Use the configured Redis, or start and later stop the embedded one."""
    settings = app[k.SETTINGS]
    if in_memory(settings.redis.url):
        yield  # the in-memory store: no Redis at all
        return
    embedded: EmbeddedRedis | None = None
    url = settings.redis.url
    if url is None:
        embedded = EmbeddedRedis(
            settings.data_path,
            settings.redis.appendfsync,
            start_timeout_s=settings.redis.start_timeout_s,
        )
        url = await embedded.start()
        log.info("embedded Redis (pid %s) on port %s", embedded.pid, embedded.port)
    else:
        await ensure_redis(url, settings.redis.start_timeout_s)
    client = connect(
        url,
        decode_responses=True,
        # A join storm must wait for a connection, not fail: redis-py's default pool raises
        # "Too many connections" past 100 (measured with 200 simultaneous joins).
        max_connections=REDIS_CONNECTIONS,
        timeout=settings.redis.start_timeout_s,
        # A Redis that restarts (or a pooled connection it dropped) is retried, not an error.
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=4),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        health_check_interval=15,
    )
    app[k.REDIS] = client
    supervisor = asyncio.create_task(embedded.supervise()) if embedded else None
    try:
        yield
    finally:
        await client.aclose()
        if supervisor is not None:
            supervisor.cancel()
            await asyncio.gather(supervisor, return_exceptions=True)
        if embedded is not None:
            await embedded.stop()


async def _services_ctx(app: web.Application) -> AsyncIterator[None]:
    settings, client = app[k.SETTINGS], app.get(k.REDIS)  # no Redis: the in-memory store
    data = settings.data_path
    secret, _ = load_or_create_secret(data / "secret.key")
    admin_key, created = load_or_create_secret(data / "admin.key")
    if created:
        print(
            f"Organizer admin key (shown once, kept in {data / 'admin.key'}): {admin_key.decode()}",
            flush=True,
        )
    prefix = settings.redis.key_prefix
    app[k.SIGNER], app[k.ADMIN_KEY] = Signer(secret), admin_key
    store = make_stores(settings, client)
    app[k.DIRECTORY], app[k.EVENTLOG], app[k.AUDIT] = store.directory, store.eventlog, store.audit
    directory, eventlog, audit = store.directory, store.eventlog, store.audit
    # The bus first: whoever reacts to a lesson's events subscribes to it when built, in
    # this order (sockets hear of an event before its media follows it).
    bus = LessonBus()
    ice = IceServers(settings.media)
    fanout = Fanout(app[k.SIO], bus, ice.for_participant)
    app[k.MEDIA] = media = MediaRooms(
        settings.media, bus, ice, settings.recording, settings.recording_path
    )
    days = settings.attendance.retention_days
    lessons = LiveLessons(directory, eventlog, rules_from(settings), bus, retention_days=days)
    app[k.LIVE] = live = _host(settings, client, lessons, media.handle)
    decks = Decks(settings.decks, DeckStore(settings.decks_path), directory, eventlog, live.clock)
    app[k.DECKS] = decks  # the board asks decks.store.info(deck) before it shows one
    app[k.MEDIA_LINKS] = MediaLinks(app[k.SIGNER])  # signed links to recorded media
    app[k.NAMESPACE] = namespace = LessonNamespace(
        live,
        directory,
        app[k.SIGNER],
        fanout,
        settings.auth.resume_token_hours * 3600,
        settings.attendance.heartbeat_s,
        audit,
        GuestGate(settings.auth),
        app[k.ADDRESSES],
        ice.for_participant,
        CatchUp(app[k.MEDIA_LINKS]),
        deck_lookup(decks.store),
    )
    app[k.SIO].register_namespace(namespace)
    Rejoin(bus, live, namespace.sessions)  # a restart's mark: those connected here join again
    recordings = RecordingWatch(bus, media, live, settings.recording.retry_s)
    notices = Notices(store.notice_channel, prefix, namespace.revoke, live.forget)
    app[k.RECORDINGS] = on_disk = Recordings(settings.recording_path)
    app[k.CLIPS] = Clips(on_disk)
    app[k.RIGHTS] = rights = DataRights(directory, eventlog, live, notices, on_disk)
    keep = settings.recording.keep_days
    app[k.RETENTION] = retention = Retention(rights, live, audit, days, keep, decks)
    connected = namespace.sessions.__contains__
    sweep = WaitingSweep(live, fanout, connected, settings.auth.waiting_guest_expiry_s)
    eventlog.start()
    live.start()
    audit.start()
    notices.start()
    retention.start()
    watcher = asyncio.create_task(watch_slow(app[k.SIO], MAX_QUEUED_PACKETS))
    sweeper = asyncio.create_task(sweep.run_forever(), name="waiting-sweep")
    doorman = asyncio.create_task(watch_connect(app[k.SIO], app[k.GATE]))
    try:
        yield
    finally:
        watcher.cancel()
        sweeper.cancel()
        doorman.cancel()
        await retention.close()
        await notices.close()
        await recordings.close()
        await media.close()
        await live.close()
        await eventlog.close()
        await audit.close()


async def _closing(app: web.Application) -> None:
    """On shutdown, dropped sockets are the server's doing: nobody is marked as gone."""
    if k.NAMESPACE in app:
        app[k.NAMESPACE].closing = True
    await app[k.SIO].shutdown()
    # Drop the transports without a socket.io goodbye: clients then reconnect by themselves
    # (to this server's successor), as they would after a crash.
    await drop_all(app[k.SIO])
