// Tests only: work handed to ctx.waitUntil runs after the response, so a test that asserts "no email was
// sent" must first wait for that work to finish, or it proves nothing. In the test environment the
// worker records each waitUntil promise here and test/support/portal.ts awaits them. The registry is on
// globalThis because the tests and the worker share one isolate but not necessarily one module instance.

type Registry = { pending: Set<Promise<unknown>>; tracked: number };

const KEY = Symbol.for("client-portal.background-work");

function registry(): Registry {
  const holder = globalThis as { [KEY]?: Registry };
  return (holder[KEY] ??= { pending: new Set(), tracked: 0 });
}

/** The same context, with every waitUntil promise also recorded until it settles. */
export function trackBackgroundWork(ctx: ExecutionContext): ExecutionContext {
  const work = registry();
  return {
    waitUntil(promise: Promise<unknown>) {
      const entry: Promise<unknown> = promise.then(
        () => work.pending.delete(entry),
        () => work.pending.delete(entry),
      );
      work.pending.add(entry);
      work.tracked++;
      ctx.waitUntil(promise);
    },
    passThroughOnException: () => ctx.passThroughOnException(),
    get props() {
      return ctx.props;
    },
  };
}

/** Resolves once no recorded work is pending, including work that the awaited work started. */
export async function backgroundWorkSettled(): Promise<void> {
  const work = registry();
  while (work.pending.size > 0) await Promise.allSettled([...work.pending]);
}

/** How many promises have been recorded so far: lets a test prove the hook sees a request's work. */
export function backgroundWorkTracked(): number {
  return registry().tracked;
}
