"use strict";
// require("ws") → the WebSocket class with WebSocketServer, Server and
// createWebSocketStream attached, as ws's own index.js exports it.
module.exports = require("wavesock/ws");
