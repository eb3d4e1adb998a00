// import WebSocket, { WebSocketServer } from "ws" → wavesock's ws API (as ws's wrapper.mjs).
import WebSocket from "wavesock/ws";
export * from "wavesock/ws";
export default WebSocket;
