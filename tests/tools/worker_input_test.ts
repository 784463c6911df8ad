/**
 * `cat --workers`' one stdin for every worker (tools/_worker_input.ts),
 * with the messages between a worker and the primary held back as a busy
 * primary's event loop may hold them: a worker's client is ready to be
 * served only once the primary has subscribed its worker, so that stdin
 * read after that reaches it.
 *
 * @module
 */
import { WorkerInput, WorkerInputFeeder } from "../../tools/_worker_input.ts";
import { assertEquals } from "../_utils.ts";

/** A worker's scope whose messages to the primary wait for `flush()`. */
class FakeScope {
  readonly #listeners: Array<(event: Event) => void> = [];
  readonly held: unknown[] = [];

  constructor(readonly worker: number) {}

  postMessage(message: unknown): void {
    this.held.push(message);
  }

  addEventListener(_type: "message", listener: (event: Event) => void): void {
    this.#listeners.push(listener);
  }

  /** A message from the primary. */
  deliver(data: unknown): void {
    const event = new MessageEvent("message", { data });
    for (const listener of this.#listeners) listener(event);
  }

  /** Hands what the worker posted to the primary, in order. */
  flush(feeder: WorkerInputFeeder): void {
    for (const message of this.held.splice(0)) {
      feeder.receive(this.worker, message);
    }
  }
}

/** Lets every pending promise job run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

Deno.test("a worker's client is ready only once the primary has subscribed its worker; stdin read after that reaches it", async () => {
  let push!: ReadableStreamDefaultController<Uint8Array>;
  const stdin = new ReadableStream<Uint8Array>({
    start: (controller) => push = controller,
  });
  const feeder = new WorkerInputFeeder(stdin);
  const scopes = [new FakeScope(1), new FakeScope(2)];
  feeder.attach((worker, message) => scopes[worker - 1]!.deliver(message));
  const [one, two] = scopes.map((scope) => new WorkerInput(scope));

  // Worker 1's client is ready and reading.
  const first = one!.subscribe().getReader();
  const firstRead = first.read();
  scopes[0]!.flush(feeder);
  await one!.ready();
  await settle();
  scopes[0]!.flush(feeder); // its pull

  // Worker 2's client comes; its `active` has not reached the primary yet.
  const second = two!.subscribe().getReader();
  let ready = false;
  two!.ready().then(() => ready = true);
  await settle();
  assertEquals(ready, false);

  // A chunk read now is worker 1's alone: worker 2 was not subscribed.
  push.enqueue(new Uint8Array([1]));
  await settle();
  scopes[0]!.flush(feeder);
  assertEquals((await firstRead).value, new Uint8Array([1]));

  // Once the primary has it, worker 2 is subscribed, then told: ready.
  scopes[1]!.flush(feeder);
  await settle();
  assertEquals(ready, true);
  const secondRead = second.read();
  const firstNext = first.read();
  await settle();
  scopes[0]!.flush(feeder);
  scopes[1]!.flush(feeder);
  push.enqueue(new Uint8Array([2]));
  await settle();
  scopes[0]!.flush(feeder);
  scopes[1]!.flush(feeder);
  assertEquals((await secondRead).value, new Uint8Array([2]));
  assertEquals((await firstNext).value, new Uint8Array([2]));
  await feeder.cancel();
});
