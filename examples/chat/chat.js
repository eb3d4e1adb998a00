// @ts-nocheck -- browser code. The project's tsconfig has no DOM types, so this file is
// type-checked on its own, against the DOM library, by test/examples/chat-page.test.ts.
/**
 * The chat page: one WebSocket to /chat on the server that served the page,
 * reopened (with a growing delay) whenever it drops.
 */

const url = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/chat`;
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
const onlineCount = element("online", HTMLElement);
const messageList = element("messages", HTMLOListElement);
const joinForm = element("join-form", HTMLFormElement);
const nameInput = element("name", HTMLInputElement);
const joinButton = element("join", HTMLButtonElement);
const messageForm = element("message-form", HTMLFormElement);
const textInput = element("text", HTMLInputElement);
const sendButton = element("send", HTMLButtonElement);

/** @type {WebSocket | null} */
let socket = null;
/** The name we joined with, once we did. */
let myName = "";
/** Reconnection attempts since the last successful connection. */
let attempts = 0;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let retryTimer;

// --------------------------------------------------------------- connection

function connect() {
  clearTimeout(retryTimer);
  showConnection("connecting", "Connecting…");
  const ws = new WebSocket(url);
  socket = ws;

  ws.addEventListener("open", () => {
    attempts = 0;
    showConnection("open", "Connected");
    // After a reconnection, take our seat again without asking.
    if (myName) send({ type: "join", name: myName });
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
    receive(message);
  });

  ws.addEventListener("close", () => {
    if (socket !== ws) return;
    socket = null;
    // 0.5 s, 1 s, 2 s, 4 s... up to 10 s, with some jitter so that many pages
    // don't all come back at the same instant after a server restart.
    const delay = Math.min(10_000, 500 * 2 ** attempts) + Math.random() * 250;
    attempts++;
    showConnection("closed", `Disconnected. Reconnecting in ${Math.ceil(delay / 1000)} s…`);
    onlineCount.textContent = "– online";
    retryTimer = setTimeout(connect, delay);
    updateControls();
  });
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

// Back online after the network went away: don't wait for the retry timer.
window.addEventListener("online", () => {
  if (socket === null) connect();
});

// ----------------------------------------------------------------- messages

/**
 * @typedef {{ type: "message", name: string, text: string, time: string }} ChatMessage
 * @typedef {{ type: "system", text?: string, event?: "join" | "leave", name?: string, online?: number, time: string }} SystemMessage
 */

/** @param {ChatMessage | SystemMessage} message */
function receive(message) {
  if (message.type === "system" && typeof message.online === "number") {
    onlineCount.textContent = `${message.online} online`;
  }
  if (message.type === "message") addChatMessage(message);
  else if (message.type === "system" && message.text) addSystemMessage(message.text, message.time);
}

/** @param {ChatMessage} message */
function addChatMessage(message) {
  const item = document.createElement("li");
  item.className = message.name === myName ? "message mine" : "message";
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
 * @param {"connecting" | "open" | "closed"} state
 * @param {string} text
 */
function showConnection(state, text) {
  connectionStatus.dataset["state"] = state;
  connectionStatus.textContent = text;
}

function updateControls() {
  const open = socket !== null && socket.readyState === WebSocket.OPEN;
  joinForm.hidden = myName !== "";
  messageForm.hidden = myName === "";
  joinButton.disabled = !open;
  sendButton.disabled = !open;
}

joinForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const name = nameInput.value.trim().replace(/\s+/g, " "); // as the server will tidy it
  if (!name || !send({ type: "join", name })) return;
  myName = name;
  try {
    localStorage.setItem(NAME_KEY, name);
  } catch {
    // storage may be off: the name just won't be remembered
  }
  updateControls();
  textInput.focus();
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
