// An audit sink wrapper that also hands each event to the webhook notifier: one seam for every notification.
import type { NotifiableEvent } from './webhook-events.js';

/** Structurally the audit module's AuditSink (notify does not import audit). */
export interface RecordingSink<E extends NotifiableEvent> {
  record(event: E): void;
  flush?(): void;
  whenWritten?(then: () => void): void;
  close(): Promise<void>;
  statementText?(text: string, dialect: 'postgres' | 'mysql'): string;
  writable?(): boolean;
}

/**
 * Every notification is also an audit event, so hooking the sink catches them all (AccessService, sessions,
 * reviews) without each of them knowing about webhooks. The event is recorded first: a notifier problem
 * can never cost an audit line.
 */
export function notifyingSink<E extends NotifiableEvent>(sink: RecordingSink<E>, notifier: { notify(e: NotifiableEvent): void }): RecordingSink<E> {
  return {
    record(event: E): void {
      sink.record(event);
      notifier.notify(event);
    },
    flush: () => sink.flush?.(),
    ...(sink.whenWritten ? { whenWritten: sink.whenWritten.bind(sink) } : {}),
    close: () => sink.close(),
    ...(sink.statementText ? { statementText: sink.statementText.bind(sink) } : {}),
    ...(sink.writable ? { writable: sink.writable.bind(sink) } : {}),
  };
}
