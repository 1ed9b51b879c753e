// The one sequence that ends a relayed session, for both protocols: stop reading the client, interrupt what
// runs upstream, give the client the protocol's fatal error at the next upstream message boundary (or cut it
// when none comes), then hang up upstream and destroy both sockets after a grace period.

/** The grace periods of every ending, the same for both protocols. */
export const ENDING_GRACE = {
  /** the upstream is mid-message when the session must end: wait this long for a boundary, then cut */
  boundaryMs: 800,
  /** after the upstream was told to quit (Terminate / COM_QUIT): destroy what is still open */
  hangUpMs: 2000,
  /** one side closed: the other is destroyed after this long if it has not closed by itself */
  closeMs: 1000,
} as const;

/** What the protocol provides; the sequence itself knows no bytes. */
export interface EndingSteps {
  /** interrupt the statement running upstream (CancelRequest, KILL QUERY); resolves at once when nothing runs */
  cancelUpstream(): Promise<unknown>;
  /** whether the upstream stream is at a message boundary now */
  atBoundary(): boolean;
  /** send the protocol's fatal error and close the client, or cut the connection (`cut`) */
  finishClient(cut: boolean): void;
  /** tell the upstream to quit (PostgreSQL Terminate, MySQL COM_QUIT) */
  hangUp(): void;
  /** destroy both sockets */
  destroy(): void;
}

/**
 * Runs the ending. The caller has already stopped reading the client; it calls the returned `finish(false)`
 * when the upstream reaches a message boundary. The upstream is hung up only once the client is finished and
 * the interrupted statement is gone, so the server's activity view shows it ended rather than orphaned.
 */
export function runEnding(steps: EndingSteps): { finish(cut: boolean): void } {
  let finished!: () => void;
  const clientDone = new Promise<void>((resolve) => (finished = resolve));
  const finish = (cut: boolean) => {
    steps.finishClient(cut);
    finished();
  };
  const cancelled = steps.cancelUpstream().catch(() => undefined);
  if (steps.atBoundary()) finish(false);
  // a stream that never reaches a boundary (the interruption did not land) is cut rather than left hanging
  setTimeout(() => finish(true), ENDING_GRACE.boundaryMs).unref();
  void Promise.all([cancelled, clientDone]).then(() => {
    steps.hangUp();
    setTimeout(() => steps.destroy(), ENDING_GRACE.hangUpMs).unref();
  });
  return { finish };
}
