// The peer in bench/compare.py: a minimal Node socket.io server with Sabak's broadcast workload.
//
// It speaks what the load generator (bench/wsclient.py) expects from `sabak serve` for the
// chat benchmark: connect with auth.token, `join` acked with a snapshot, everyone in one
// room, the teacher's `chat_send` broadcast to the room as `chat` and acked with the
// message id, the present count coalesced to one `count` a second, `participant` to the
// teachers on every join and leave. No storage: Sabak logs every event to Redis, this does not.
//
// Environment: PORT (required), HOST (127.0.0.1), DEFLATE:
//   "all" (default)  permessage-deflate accepted as browsers offer it, every frame compressed at
//                    zlib level 1 — what aiohttp does for Sabak, so the comparison is fair;
//   "threshold"      accepted, only frames of 1024 bytes and more compressed (ws's default);
//   "off"            declined (socket.io's default since 3.0): broadcasts reuse one frame.
"use strict";

const http = require("http");
const zlib = require("zlib");
const { Server } = require("socket.io");

const ROOM = "lesson";
const TEACHERS = "lesson/teachers";
const HEARTBEAT_S = 5;
const CHAT_MAX_CHARS = 2000;

function deflateOption(mode) {
  if (mode === "off") return false;
  const zlibDeflateOptions = { level: zlib.constants.Z_BEST_SPEED };
  if (mode === "threshold") return { threshold: 1024, zlibDeflateOptions };
  if (mode === "all") return { threshold: 0, zlibDeflateOptions };
  throw new Error(`DEFLATE must be all, threshold or off, not ${mode}`);
}

function httpServer() {
  return http.createServer((req, res) => {
    const ok = req.url === "/healthz";
    res.writeHead(ok ? 200 : 404, { "content-type": "text/plain" });
    res.end(ok ? "ok" : "not found");
  });
}

class Lesson {
  constructor(io) {
    this.io = io;
    this.chat = [];
    this.byClientId = new Map();
    this.present = 0;
    this.countDue = null;
  }

  participant(socket) {
    const { id, name, role } = socket.data;
    return { id, name, role, presence: "present", since: socket.data.since, visible: true };
  }

  snapshot(socket) {
    const view = {
      lesson: { id: "bench", title: "Bench lesson", status: "live", chat_locked: false,
                started_at: this.startedAt },
      you: { ...this.participant(socket), hand_position: null },
      present_count: this.present,
      checks: [], open_check: null, polls: [], quizzes: [],
      chat: this.chat.slice(-50),
      seq: this.chat.length,
    };
    if (socket.data.role === "teacher") view.participants = [];
    return view;
  }

  join(socket) {
    socket.join(ROOM);
    if (socket.data.role === "teacher") socket.join(TEACHERS);
    socket.data.joined = true;
    this.present += 1;
    this.changed(socket);
    return {
      ok: true, waiting: false, snapshot: this.snapshot(socket), heartbeat_s: HEARTBEAT_S,
      resume: `resume-${socket.id}`,
    };
  }

  leave(socket) {
    if (!socket.data.joined) return;
    socket.data.joined = false;
    this.present -= 1;
    socket.leave(ROOM);
    socket.leave(TEACHERS);
    this.changed(socket);
  }

  changed(socket) {
    this.io.to(TEACHERS).emit("participant", this.participant(socket));
    if (this.countDue === null) {
      this.countDue = setTimeout(() => {
        this.countDue = null;
        this.io.to(ROOM).emit("count", { present: this.present });
      }, 1000);
    }
  }

  send(socket, data) {
    if (!socket.data.joined) return refused("not-joined", "Join the lesson first.");
    const text = data && typeof data.text === "string" ? data.text.trim() : "";
    const clientId = data && typeof data.client_id === "string" ? data.client_id : "";
    if (!text || text.length > CHAT_MAX_CHARS || !clientId) {
      return refused("invalid-payload", "A chat message needs client_id and text.");
    }
    const key = `${socket.data.id}/${clientId}`;
    const earlier = this.byClientId.get(key);
    if (earlier) return { ok: true, message_id: earlier.id, duplicate: true };
    const message = {
      id: this.chat.length + 1, author_id: socket.data.id, author_name: socket.data.name,
      text, to: "all", ts: Date.now(),
    };
    this.chat.push(message);
    this.byClientId.set(key, message);
    this.io.to(ROOM).emit("chat", message);
    return { ok: true, message_id: message.id };
  }
}

function refused(code, message) {
  return { ok: false, error: { code, message } };
}

function identify(socket, next) {
  const token = socket.handshake.auth && socket.handshake.auth.token;
  if (typeof token !== "string" || !token) {
    const err = new Error("Connect with your personal link first.");
    err.data = { code: "auth-required" };
    return next(err);
  }
  const role = token.startsWith("teacher") ? "teacher" : "student";
  socket.data = { id: token, name: token, role, since: Date.now(), joined: false };
  return next();
}

function onConnection(lesson, socket) {
  const handlers = {
    join: () => (socket.data.joined
      ? refused("already-joined", "This connection has already joined the lesson.")
      : lesson.join(socket)),
    chat_send: (data) => lesson.send(socket, data),
    beat: () => ({ ok: true }),
    leave: () => { lesson.leave(socket); return { ok: true }; },
  };
  socket.onAny((event, ...args) => {
    const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
    const handler = handlers[event];
    const reply = handler ? handler(args[0]) : refused("unknown-event", "No such event.");
    if (ack) ack(reply);
  });
  socket.on("disconnect", () => lesson.leave(socket));
}

function main() {
  const port = Number(process.env.PORT);
  if (!port) throw new Error("set PORT");
  const server = httpServer();
  const io = new Server(server, {
    serveClient: false,
    pingInterval: 10000,
    pingTimeout: 10000,
    maxHttpBufferSize: 64000,
    perMessageDeflate: deflateOption(process.env.DEFLATE || "all"),
  });
  const lesson = new Lesson(io);
  lesson.startedAt = Date.now();
  io.use(identify);
  io.on("connection", (socket) => onConnection(lesson, socket));
  server.listen(port, process.env.HOST || "127.0.0.1", () => {
    console.log(`node peer listening on ${port} (deflate ${process.env.DEFLATE || "all"})`);
  });
  const stop = () => { io.close(); server.close(); process.exit(0); };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main();
