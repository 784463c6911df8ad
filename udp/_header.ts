/**
 * The request/reply header of `request.ts`, packed with `framing/`'s
 * `Struct`. The layout is documented in `request.ts`.
 *
 * @module
 */
import { Struct } from "../framing/struct.ts";

/** The header's `struct` format: magic, version, kind, request id, try. */
export const REQUEST_HEADER_FORMAT = "!HBBIH";
/** The header's first two bytes: ASCII `"SK"`. */
export const REQUEST_MAGIC = 0x534b;
/** The header version this module speaks. */
export const REQUEST_VERSION = 1;
/** `kind` of a request. */
export const KIND_REQUEST = 1;
/** `kind` of a reply. */
export const KIND_REPLY = 2;

const HEADER = new Struct(REQUEST_HEADER_FORMAT);

/** The header's size in bytes (10). */
export const REQUEST_HEADER_SIZE: number = HEADER.size;

/** A decoded message: header fields and payload. */
export interface Message {
  /** {@linkcode KIND_REQUEST} or {@linkcode KIND_REPLY}. */
  kind: number;
  /** The request id (uint32). */
  id: number;
  /** The try number, from 1. */
  attempt: number;
  /** The bytes after the header (a view). */
  payload: Uint8Array;
}

/** Packs a header and `payload` into one new datagram. */
export function encodeMessage(
  kind: number,
  id: number,
  attempt: number,
  payload: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(HEADER.size + payload.length);
  HEADER.packInto(out, 0, REQUEST_MAGIC, REQUEST_VERSION, kind, id, attempt);
  out.set(payload, HEADER.size);
  return out;
}

/** Unpacks a datagram, or `null` when its header is not valid. */
export function decodeMessage(bytes: Uint8Array): Message | null {
  if (bytes.length < HEADER.size) return null;
  const [magic, version, kind, id, attempt] = HEADER.unpackFrom(bytes, 0);
  if (
    magic !== REQUEST_MAGIC || version !== REQUEST_VERSION ||
    (kind !== KIND_REQUEST && kind !== KIND_REPLY) || attempt === 0
  ) {
    return null;
  }
  return { kind, id, attempt, payload: bytes.subarray(HEADER.size) };
}
