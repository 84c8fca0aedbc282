/** Runs tasks one after another, in the order they were given; a failed task does not stop the ones after it. */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const next = this.tail.then(task, task);
    this.tail = next.catch(() => undefined);
    return next;
  }

  /** Resolves once every task given so far has ended. */
  idle(): Promise<void> {
    return this.run(async () => undefined);
  }
}
