export * from "wavesock/ws";
export { default } from "wavesock/ws";
