// One way to put context into a Deno error's message: the same class (so
// `instanceof Deno.errors.ConnectionRefused` still works), the message
// "Cannot <what>: <detail>", the original as `cause`. Used by tcp/ and udp/.

/**
 * `error` again, as the same class, with the message `Cannot ${what}:
 * ${detail}` (`detail` defaults to its own message) and `error` as its
 * `cause`. Anything that is not an `Error`, or whose class cannot be made
 * again this way, is returned as it is.
 */
export function wrapError(
  error: unknown,
  what: string,
  detail?: string,
): unknown {
  if (!(error instanceof Error)) return error;
  const Class = error.constructor as new (
    message: string,
    options?: ErrorOptions,
  ) => Error;
  try {
    return new Class(`Cannot ${what}: ${detail ?? error.message}`, {
      cause: error,
    });
  } catch {
    return error;
  }
}
