// @ts-nocheck -- browser code. The project's tsconfig has no DOM types, so this file is
// type-checked on its own, against the DOM library, by test/examples/chat-page.test.ts.
/**
 * The chat page: one WebSocket to /chat on the server that served the page.
 * The wire format is described at the top of room.js.
 *
 * When the connection drops, the page reconnects with a growing delay if
 * that can help (the network, a server restart, a server error) and takes
 * its seat back; when the server refused it (another origin, a message too
 * big, a newer window took the seat) it says why and waits for the user.
 * Coming back, it sends the id of the last room event it saw, and the server
 * first sends what was said meanwhile; the marker where the transcript was
 * interrupted says how much was restored, or that some may be missing.
 */

const path = "/chat";
const url = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}${path}`;
const NAME_KEY = "wavesock-chat-name";

/**
 * The element with this id, checked to be of the expected kind.
 * @template {HTMLElement} T
 * @param {string} id
 * @param {{ new (): T }} kind
 * @returns {T}
 */
function element(id, kind) {
  const el = document.getElementById(id);
  if (!(el instanceof kind)) throw new Error(`the page has no #${id}`);
  return el;
}

const connectionStatus = element("connection", HTMLElement);
const reconnectButton = element("reconnect", HTMLButtonElement);
const onlineCount = element("online", HTMLElement);
const messageList = element("messages", HTMLOListElement);
const joinForm = element("join-form", HTMLFormElement);
const nameInput = element("name", HTMLInputElement);
const joinButton = element("join", HTMLButtonElement);
const joinError = element("join-error", HTMLElement);
const messageForm = element("message-form", HTMLFormElement);
const textInput = element("text", HTMLInputElement);
const sendButton = element("send", HTMLButtonElement);

/** @type {WebSocket | null} */
let socket = null;
/** Our seat, once the server gave us one: kept across reconnections to take it back. */
/** @type {{ member: string, name: string, token: string } | null} */
let seat = null;
/** Whether the welcome was shown: once per join, not once per connection. */
let welcomed = false;
/** A join sent and not answered yet. */
let joining = false;
/** After taking our seat back: our own join event adds nothing to the marker. */
let quietJoin = false;
/** Reconnection attempts since the last connection that lasted. */
let attempts = 0;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let retryTimer;
/** Whether the page waits for the user before connecting again. */
let stopped = false;
/** The transcript's marker for the current disconnection, until we are back. */
/** @type {HTMLLIElement | null} */
let gap = null;
/** The marker of the last disconnection while we wait for the server to say what it restored. */
/** @type {HTMLLIElement | null} */
let restoring = null;
/** The id of the last room event we saw (or where the server said ours start): sent when we come back. */
/** @type {string | null} */
let lastId = null;

// --------------------------------------------------------------- connection

/**
 * Close codes after which connecting again can help (RFC 6455 §7.4.1 and
 * the IANA registry): going away (a restart), no status, abnormal closure
 * (the network), internal error, service restart, try again later, bad
 * gateway. Any other code is a refusal that would happen again.
 */
const RETRYABLE = new Set([1001, 1005, 1006, 1011, 1012, 1013, 1014]);

/** What a close code means, for a person. */
const CLOSE_TEXT = new Map([
  [1000, "The server closed the connection."],
  [1001, "The server went away (restarting or shutting down)."],
  [1002, "The server and this page disagreed on the protocol."],
  [1003, "The server refused a message it does not accept."],
  [1005, "The connection was closed."],
  [1006, "The connection was lost."],
  [1007, "The server refused a message that was not valid text."],
  [1008, "The server refused the connection (policy)."],
  [1009, "Your message was too big for the server."],
  [1011, "The server hit an internal error."],
  [1012, "The server is restarting."],
  [1013, "The server is busy."],
  [1014, "A gateway in between failed."],
  [4000, "You took your seat again from another connection: this one is closed."],
]);

function connect() {
  clearTimeout(retryTimer);
  stopped = false;
  showConnection("connecting", "Connecting…");
  const ws = new WebSocket(url);
  socket = ws;
  let opened = false;
  let openedAt = 0;

  ws.addEventListener("open", () => {
    opened = true;
    openedAt = Date.now();
    showConnection("open", "Connected");
    // After a reconnection, take our seat back without asking.
    if (seat !== null) join(seat.name, seat.token);
    updateControls();
  });

  ws.addEventListener("message", (event) => {
    if (typeof event.data !== "string") return;
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    if (message !== null && typeof message === "object") receive(message);
  });

  ws.addEventListener("close", (event) => {
    if (socket !== ws) return;
    socket = null;
    joining = false;
    // A connection that lasted resets the backoff; one that fails at once
    // (a server that accepts, then errors) keeps it growing.
    if (opened && Date.now() - openedAt > 10_000) attempts = 0;
    if (seat !== null && gap === null) gap = addMarker(`Disconnected at ${clock(new Date())}`);
    onlineCount.hidden = true;
    updateControls();
    if (!opened) {
      // Browsers hide why a handshake failed (the page sees 1006, as for a
      // network error): ask the server over plain HTTP what it would say.
      void diagnose().then(({ text, retry }) => settle(text, retry));
      return;
    }
    const text = CLOSE_TEXT.get(event.code) ?? `The connection was closed (code ${event.code}).`;
    settle(event.reason ? `${text} (${event.code}: ${event.reason})` : text, RETRYABLE.has(event.code));
  });
}

/**
 * Say why the connection is closed, and retry after a growing delay or wait
 * for the user.
 * @param {string} text
 * @param {boolean} retry
 */
function settle(text, retry) {
  if (socket !== null) return; // reconnected meanwhile (the user, or the network came back)
  reconnectButton.hidden = false;
  if (!retry) {
    stopped = true;
    showConnection("refused", text);
    return;
  }
  // 0.5 s, 1 s, 2 s, 4 s... up to 10 s, with some jitter so that many pages
  // don't all come back at the same instant after a server restart.
  const delay = Math.min(10_000, 500 * 2 ** attempts) + Math.random() * 250;
  attempts++;
  showConnection("closed", `${text} Reconnecting in ${Math.ceil(delay / 1000)} s…`);
  retryTimer = setTimeout(connect, delay);
}

/**
 * After a handshake that failed: what the server says about a plain request
 * to the endpoint. A POST, because browsers send `Origin` with it (not
 * with a same-origin GET) and the origin is what the server checks.
 * @returns {Promise<{ text: string, retry: boolean }>}
 */
async function diagnose() {
  let response;
  try {
    response = await fetch(path, { method: "POST", cache: "no-store", signal: AbortSignal.timeout(5_000) });
  } catch {
    return { text: "Can't reach the server.", retry: true };
  }
  const body = (await response.text().catch(() => "")).trim().slice(0, 300);
  if (response.status === 426) {
    // The endpoint is there and would take us: something in between (a
    // proxy that drops the Upgrade header) or a passing failure.
    return { text: "The server is up but the WebSocket connection failed.", retry: true };
  }
  if (response.status === 408 || response.status === 429 || response.status >= 500) {
    return { text: `The server is busy or unavailable (HTTP ${response.status}).`, retry: true };
  }
  return { text: `The server refused the connection (HTTP ${response.status}${body ? `: ${body}` : ""}).`, retry: false };
}

/**
 * Send a JSON message if the connection is open.
 * @param {Record<string, unknown>} message
 * @returns {boolean} whether it was sent
 */
function send(message) {
  if (socket === null || socket.readyState !== WebSocket.OPEN) return false;
  socket.send(JSON.stringify(message));
  return true;
}

/**
 * @param {string} name
 * @param {string} [token]
 */
function join(name, token) {
  /** @type {Record<string, unknown>} */
  const message = { type: "join", name };
  if (token !== undefined) message["token"] = token;
  // Coming back after a drop: ask for what we missed since the last room event we saw.
  if (gap !== null || restoring !== null) message["since"] = lastId;
  joining = send(message);
  updateControls();
}

// Back online after the network went away: don't wait for the retry timer.
window.addEventListener("online", () => {
  if (socket === null && !stopped) connect();
});

reconnectButton.addEventListener("click", () => {
  if (socket === null) connect();
});

// ----------------------------------------------------------------- messages

/**
 * @typedef {{ type: "message", id?: string, from: string, name: string, text: string, time: string }} ChatMessage
 * @typedef {{ type: "system", id?: string, event: "join" | "leave", from: string, name: string, text: string, online?: number, time: string }} SystemMessage
 * @typedef {{ type: "joined", member: string, name: string, token: string, online?: number, lastId: string | null, rejoined: boolean, text: string, time: string }} Joined
 * @typedef {{ type: "resumed", replayed: number, complete: boolean }} Resumed
 * @typedef {{ type: "error", code: string, text: string }} Refusal
 */

/** @param {ChatMessage | SystemMessage | Joined | Resumed | Refusal} message */
function receive(message) {
  // Room events carry the id to come back from.
  if ((message.type === "message" || message.type === "system") && typeof message.id === "string") lastId = message.id;
  switch (message.type) {
    case "joined":
      joined(message);
      break;
    case "resumed":
      resumed(message);
      break;
    case "error":
      refused(message);
      break;
    case "message":
      addChatMessage(message);
      break;
    case "system":
      if (typeof message.online === "number") showOnline(message.online);
      if (quietJoin && message.event === "join" && seat !== null && message.from === seat.member) {
        quietJoin = false;
        break;
      }
      if (message.text) addSystemMessage(message.text, message.time);
      break;
  }
}

/** @param {Joined} message */
function joined(message) {
  joining = false;
  seat = { member: message.member, name: message.name, token: message.token };
  if (typeof message.lastId === "string") lastId = message.lastId;
  joinError.hidden = true;
  if (typeof message.online === "number") showOnline(message.online);
  reconnected();
  // Back in the room as a new seat (the old one was gone): the server
  // announces the join to everyone, us included, right after this reply.
  quietJoin = welcomed && !message.rejoined;
  if (!welcomed) {
    welcomed = true;
    addSystemMessage(message.text, message.time);
  }
  try {
    localStorage.setItem(NAME_KEY, message.name);
  } catch {
    // storage may be off: the name just won't be remembered
  }
  updateControls();
  textInput.focus();
}

/** @param {Refusal} message */
function refused(message) {
  if (joining || message.code === "not-joined") {
    // Our join was refused (also when taking our seat back after a
    // reconnection found the name taken meanwhile): ask for a name.
    joining = false;
    if (seat !== null) nameInput.value = seat.name;
    seat = null;
    welcomed = false;
    reconnected();
    joinError.textContent = message.text;
    joinError.hidden = false;
    updateControls();
    nameInput.focus();
    return;
  }
  addSystemMessage(message.text, new Date().toISOString());
}

/** Back on a connection: close the marker of the disconnection; it waits for what the server restores. */
function reconnected() {
  if (gap === null) return;
  gap.textContent = `${gap.textContent} — reconnected at ${clock(new Date())}`;
  restoring = gap;
  gap = null;
}

/**
 * The server sent what we missed (just before this): say so on the marker.
 * @param {Resumed} message
 */
function resumed(message) {
  const marker = restoring;
  restoring = null;
  if (marker === null) return;
  const n = message.replayed === 1 ? "1 missed message" : `${message.replayed} missed messages`;
  const what = message.complete
    ? message.replayed === 0
      ? "nothing missed"
      : `${n} restored`
    : message.replayed === 0
      ? "history incomplete: some messages may be missing"
      : `${n} restored, but the history was incomplete: earlier ones may be missing`;
  marker.textContent = `${marker.textContent} — ${what}`;
}

/** @param {number} n */
function showOnline(n) {
  onlineCount.textContent = `${n} online`;
  onlineCount.hidden = false;
}

/** @param {ChatMessage} message */
function addChatMessage(message) {
  const item = document.createElement("li");
  // Ours if the server says we sent it: names are for people.
  item.className = seat !== null && message.from === seat.member ? "message mine" : "message";
  const meta = document.createElement("p");
  meta.className = "meta";
  const name = document.createElement("span");
  name.className = "name";
  name.textContent = message.name;
  meta.append(name, " ", timeElement(message.time));
  const text = document.createElement("p");
  text.className = "text";
  text.textContent = message.text; // textContent, never innerHTML: messages are untrusted
  item.append(meta, text);
  append(item);
}

/**
 * @param {string} text
 * @param {string} time
 */
function addSystemMessage(text, time) {
  const item = document.createElement("li");
  item.className = "system";
  item.append(text, " ", timeElement(time));
  append(item);
}

/**
 * Where the transcript was interrupted.
 * @param {string} text
 * @returns {HTMLLIElement}
 */
function addMarker(text) {
  const item = document.createElement("li");
  item.className = "gap";
  item.textContent = text;
  append(item);
  return item;
}

/** @param {Date} date */
const clock = (date) => date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });

/** @param {string} iso */
function timeElement(iso) {
  const time = document.createElement("time");
  const date = new Date(iso);
  time.dateTime = iso;
  time.textContent = Number.isNaN(date.getTime()) ? "" : date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return time;
}

/** Add an item to the list, keeping the newest in view if it was. @param {HTMLLIElement} item */
function append(item) {
  const list = messageList;
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.append(item);
  if (atBottom) list.scrollTop = list.scrollHeight;
}

// -------------------------------------------------------------------- forms

/**
 * @param {"connecting" | "open" | "closed" | "refused"} state
 * @param {string} text
 */
function showConnection(state, text) {
  connectionStatus.dataset["state"] = state;
  connectionStatus.textContent = text;
  reconnectButton.hidden = state === "open" || state === "connecting";
}

function updateControls() {
  const open = socket !== null && socket.readyState === WebSocket.OPEN;
  joinForm.hidden = seat !== null;
  messageForm.hidden = seat === null;
  joinButton.disabled = !open || joining;
  sendButton.disabled = !open;
}

joinForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const name = nameInput.value.trim().replace(/\s+/g, " "); // as the server will tidy it
  if (!name || joining) return;
  join(name);
});

messageForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = textInput.value.trim();
  if (!text) return;
  // While disconnected the text stays in the box, to be sent once we're back.
  if (send({ type: "message", text })) textInput.value = "";
  textInput.focus();
});

try {
  nameInput.value = localStorage.getItem(NAME_KEY) ?? "";
} catch {
  // no storage: start with an empty name
}
updateControls();
connect();
