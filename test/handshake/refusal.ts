import { expect } from "vitest";
import { InvalidHandshake } from "../../src/errors.js";

/** Run `fn`, assert it throws `InvalidHandshake`, and return the error. */
export function refusal(fn: () => unknown): InvalidHandshake {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidHandshake);
    return err as InvalidHandshake;
  }
  throw new Error("expected InvalidHandshake, nothing was thrown");
}
