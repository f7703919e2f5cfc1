// The worker renders with react-dom/server only. react-router-dom imports the whole client build of
// react-dom (130 KiB minified) for `flushSync`, which only ever runs in the browser; on the server this
// stand-in keeps that import cheap to evaluate at start-up.
export function flushSync<T>(fn: () => T): T {
  return fn();
}
export default { flushSync };
