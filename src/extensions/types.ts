/**
 * The contract between the connection state machine, the opening handshake and
 * a per-message extension (RFC 6455 §9, RFC 7692).
 *
 * Extensions are synchronous codecs: the core stays sans-IO and never waits.
 */

/** One `name` or `name=value` parameter of an extension offer (RFC 6455 §9.1). `value` is null when absent. */
export type ExtensionParam = [name: string, value: string | null];

/** One element of a `Sec-WebSocket-Extensions` header: `name; p1; p2=v`. */
export interface ExtensionOffer {
  /** Extension token, e.g. `permessage-deflate`. */
  name: string;
  /** Parameters in order, names as sent (compare case-insensitively). */
  params: ExtensionParam[];
}

/** A negotiated per-message extension, as the connection uses it. */
export interface MessageExtension {
  /** Extension token, e.g. `permessage-deflate`. */
  readonly name: string;
  /** The RSV bits (as in the first header byte, e.g. 0x40 for RSV1) this extension may set on the first frame of a data message. */
  readonly rsvBits: number;
  /**
   * Decode one whole received message whose first frame carried `rsvBits`.
   * `payload` is the concatenated payload of all its frames. Must throw
   * `PayloadTooBig` as soon as the output would exceed `maxSize` (without
   * allocating it) and `ProtocolError` (close code 1007 for corrupt data is
   * what Autobahn expects: "invalid payload data") on data it cannot decode.
   */
  decode(payload: Uint8Array, maxSize: number): Uint8Array;
  /**
   * Optional: a decoder for one received message whose first frame carried
   * `rsvBits`, fed its payload piece by piece (streaming receive). Without
   * it, such a message can only be received whole.
   */
  streamDecoder?(): MessageDecoder;
  /** Whether a message of `size` bytes should be encoded (e.g. a compression threshold). */
  shouldEncode(size: number): boolean;
  /** Encode one whole outgoing message; the result is sent with `rsvBits` on its first frame. */
  encode(payload: Uint8Array): Uint8Array;
  /**
   * Optional: encode one fragment of a message sent in fragments (`fin` on
   * the last), so that the fragments' concatenation is what the peer decodes
   * as one message; the first goes out with `rsvBits`. Without it, messages
   * sent in fragments go out unencoded.
   */
  encodeFragment?(payload: Uint8Array, fin: boolean): Uint8Array;
  /**
   * True when `encode` is a pure function of its input (no state carried from
   * message to message), so one encoded payload may be sent to many peers
   * that negotiated the same `sharingKey` (broadcast frames once).
   */
  readonly stateless: boolean;
  /** Identifies the encoding parameters; equal keys + `stateless` mean encoded bytes are interchangeable. */
  readonly sharingKey: string;
  /** Release any resources (called when the connection closes). */
  dispose?(): void;
}

/**
 * Decodes one message piece by piece, with bounded output per step (see
 * {@link MessageExtension.streamDecoder}). Throws `ProtocolError` (1007) on
 * data it cannot decode.
 */
export interface MessageDecoder {
  /** The next piece of the message's payload (kept as a view until decoded: the caller must not reuse it). */
  push(payload: Uint8Array): void;
  /** The payload is complete: what is still to read is the end of the message. */
  end(): void;
  /** Up to `max` decoded bytes (owned by the caller); empty when nothing can be decoded now. */
  read(max: number): Uint8Array;
  /** True when `read` has nothing more until the next `push` — after `end()`: the message is decoded. */
  readonly drained: boolean;
}

/** Server side of an extension's negotiation. */
export interface ServerExtensionFactory {
  /** Extension token this factory handles. */
  readonly name: string;
  /**
   * Consider one client offer of this extension. Return the parameters of the
   * response and the negotiated extension, or null to decline this offer (the
   * server then tries the next offer, or goes on without the extension).
   * Throw `InvalidHandshake` (status 400) only for offers that are malformed.
   */
  accept(
    params: ExtensionParam[],
    alreadyAccepted: readonly MessageExtension[],
  ): { response: ExtensionParam[]; extension: MessageExtension } | null;
}

/** Client side of an extension's negotiation. */
export interface ClientExtensionFactory {
  /** Extension token this factory handles. */
  readonly name: string;
  /** The offers to send, most preferred first (each becomes one header element). */
  offers(): ExtensionParam[][];
  /**
   * Accept the server's response parameters and build the extension, or throw
   * `InvalidHandshake` when the response is not one of the offers allows.
   */
  accept(params: ExtensionParam[], alreadyAccepted: readonly MessageExtension[]): MessageExtension;
}
