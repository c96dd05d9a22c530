// The chat page: join a room, then talk. Every text from others goes in with textContent, never as HTML.
const $ = (id) => document.getElementById(id);
const socket = io();
const params = new URLSearchParams(location.search);

let me = null;          // {name, room} once joined
let users = [];         // names in the room (a name may appear twice)
const typers = new Map(); // name -> timer that hides "name is typing…"
const TYPING_SHOWN_MS = 3000;
const TYPING_EVERY_MS = 1500;

function randomRoomId() {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return Array.from(bytes, (b) => (b % 36).toString(36)).join("");
}

$("room").value = params.get("room") || randomRoomId();
$("name").value = localStorage.getItem("chat-name") || "";

function clock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function addItem(li) {
  const list = $("messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.append(li);
  if (atBottom) list.scrollTop = list.scrollHeight;
}

function notice(text) {
  const li = document.createElement("li");
  li.className = "notice";
  li.textContent = text + " · " + clock(Date.now());
  addItem(li);
}

function showUsers(count) {
  let marked = false; // "(you)" after the first entry with our name
  $("users").replaceChildren(...users.map((name) => {
    const li = document.createElement("li");
    const who = document.createElement("span");
    who.className = "user";
    who.textContent = name;
    li.append(who);
    if (!marked && me && name === me.name) {
      marked = true;
      const you = document.createElement("span");
      you.className = "you";
      you.textContent = " (you)";
      li.append(you);
    }
    return li;
  }));
  $("count").textContent = String(count ?? users.length);
}

function showTyping() {
  const names = [...typers.keys()];
  $("typing").textContent =
    names.length === 0 ? "" :
    names.length === 1 ? names[0] + " is typing…" :
    names.length === 2 ? names[0] + " and " + names[1] + " are typing…" :
    "Several people are typing…";
}

function stopTyping(name) {
  clearTimeout(typers.get(name));
  typers.delete(name);
  showTyping();
}

function join(name, room) {
  $("join-error").textContent = "";
  socket.emit("join", { name, room }, (res) => {
    if (!res || !res.ok) {
      $("join-error").textContent = (res && res.error) || "could not join";
      return;
    }
    const first = me === null;
    me = { name: name.trim(), room };
    localStorage.setItem("chat-name", me.name);
    users = res.users;
    showUsers();
    history.replaceState(null, "", "/?room=" + encodeURIComponent(room));
    $("share-link").href = $("share-link").textContent = location.href;
    $("room-label").textContent = "room " + room;
    $("join-view").hidden = true;
    $("chat-view").hidden = false;
    if (first) notice("You joined as " + me.name);
    $("message").focus();
  });
}

$("join-form").addEventListener("submit", (e) => {
  e.preventDefault();
  join($("name").value, $("room").value.trim());
});

$("copy").addEventListener("click", () => {
  navigator.clipboard?.writeText(location.href).then(() => { $("copy").textContent = "Copied"; });
});

// Typing: "typing" at most every TYPING_EVERY_MS while keys are pressed, "stop typing" when the field empties or
// the message is sent; the others hide the hint after TYPING_SHOWN_MS anyway.
let lastTyping = 0;
$("message").addEventListener("input", () => {
  if (!me) return;
  if ($("message").value === "") {
    socket.emit("stop typing");
    lastTyping = 0;
  } else if (Date.now() - lastTyping > TYPING_EVERY_MS) {
    socket.emit("typing");
    lastTyping = Date.now();
  }
});

$("message-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("message").value;
  if (!text.trim()) return;
  $("send-error").textContent = "";
  socket.emit("chat message", text, (res) => {
    if (!res || !res.ok) $("send-error").textContent = (res && res.error) || "not sent";
  });
  socket.emit("stop typing");
  lastTyping = 0;
  $("message").value = "";
});

socket.on("chat message", ({ name, text, time }) => {
  stopTyping(name);
  const li = document.createElement("li");
  if (me && name === me.name) li.className = "mine";
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = name;
  const when = document.createElement("time");
  when.className = "time";
  when.dateTime = new Date(time).toISOString();
  when.textContent = clock(time);
  const body = document.createElement("span");
  body.className = "text";
  body.textContent = text;
  li.append(who, when, body);
  addItem(li);
});

socket.on("user joined", ({ name, count }) => {
  users.push(name);
  showUsers(count);
  notice(name + " joined");
});

socket.on("user left", ({ name, count }) => {
  const i = users.indexOf(name);
  if (i >= 0) users.splice(i, 1);
  showUsers(count);
  stopTyping(name);
  notice(name + " left");
});

socket.on("typing", ({ name }) => {
  clearTimeout(typers.get(name));
  typers.set(name, setTimeout(() => stopTyping(name), TYPING_SHOWN_MS));
  showTyping();
});

socket.on("stop typing", ({ name }) => stopTyping(name));

socket.on("connect", () => {
  $("status").textContent = "connected";
  if (me) join(me.name, me.room); // a new connection after an outage: join again
});

socket.on("disconnect", () => {
  $("status").textContent = "reconnecting…";
  for (const name of [...typers.keys()]) stopTyping(name);
});
