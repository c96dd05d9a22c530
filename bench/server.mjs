// The Node side of `make bench`: socket.io 4.8 (bench/node_modules: ws engine + bufferutil, no compression)
// running the same application as bench/server.c.
//
//   node bench/server.mjs [--host 127.0.0.1] [--port 3000]
//
// - a CONNECT with auth {room} joins that room.
// - "echo" with an acknowledgement: the ack gets the argument back.
// - "bcast" payload [room]: io.to(room).emit("tick", payload), or io.emit when no room is given (the sender
//   included when it is in the room).
// - "chat" payload: socket.to(its room).emit("chat", payload), to the others of its room.
//
// Prints "listening <port>" once listening (bench/run.mjs waits for it) and nothing per connection.
// SIGTERM or SIGINT stops it with exit status 0.
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { dirname, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { Server } from "socket.io";

const here = dirname(fileURLToPath(import.meta.url));

function parseArgs(argv) {
  const opts = { host: "127.0.0.1", port: 3000 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--host" && i + 1 < argv.length) opts.host = argv[++i];
    else if (argv[i] === "--port" && i + 1 < argv.length) opts.port = Number(argv[++i]);
    else {
      process.stderr.write("usage: node bench/server.mjs [--host ADDR] [--port N]\n");
      process.exit(2);
    }
  }
  return opts;
}

// The figures are only meaningful with bench/node_modules (socket.io 4.8.4, ws + bufferutil): say so on
// stderr when this process would run with something else.
function checkPackages() {
  const require = createRequire(import.meta.url);
  const ioPath = require.resolve("socket.io");
  if (!ioPath.startsWith(here + sep + "node_modules" + sep))
    process.stderr.write(`server.mjs: warning: socket.io from ${ioPath}, not bench/node_modules\n`);
  try {
    createRequire(require.resolve("ws")).resolve("bufferutil");
  } catch {
    process.stderr.write("server.mjs: warning: bufferutil not found: ws runs with its JavaScript masking\n");
  }
}

const { host, port } = parseArgs(process.argv.slice(2));
checkPackages();

const httpServer = createServer();
const io = new Server(httpServer, {
  serveClient: false,
  perMessageDeflate: false,
  httpCompression: false,
});

io.on("connection", (socket) => {
  const room = typeof socket.handshake.auth.room === "string" ? socket.handshake.auth.room : null;
  if (room) socket.join(room);
  socket.on("echo", (p, cb) => {
    if (typeof cb === "function") cb(p);
  });
  socket.on("bcast", (payload, to) => {
    if (typeof to === "string") io.to(to).emit("tick", payload);
    else io.emit("tick", payload);
  });
  socket.on("chat", (payload) => {
    if (room) socket.to(room).emit("chat", payload);
  });
});

httpServer.on("error", (err) => {
  process.stderr.write(`server.mjs: cannot listen on ${host}:${port}: ${err.message}\n`);
  process.exit(1);
});
httpServer.listen(port, host, () => {
  process.stdout.write(`listening ${httpServer.address().port}\n`);
});

function stop() {
  io.close();
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
