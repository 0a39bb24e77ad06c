// The part of node:async_hooks the Workers runtime provides (compatibility flag nodejs_als).
declare module "node:async_hooks" {
  export class AsyncLocalStorage<T> {
    getStore(): T | undefined;
    run<R>(store: T, fn: () => R): R;
  }
}
