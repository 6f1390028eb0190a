/**
 * The Redis store's subscription to its invalidation channel (redis-store.ts), on a
 * connection of its own that says when the channel is lost and when it is listened to
 * again: every message published in between was missed, so the store tells its
 * subscribers to reset both times.
 *
 * On a Cluster one node is enough (a PUBLISH reaches every node), so the connection is
 * to one node at a time; when it drops, the next attempt goes to the next node known
 * (the startup nodes, then those the command client discovered). ioredis's own Cluster
 * subscriber is not used: when its node dies it moves to another one without a word,
 * and the messages of the gap would be lost unnoticed. A single server is tried again
 * and again. Attempts are spaced 50 ms apart, growing to 1 s while they fail.
 */
import Redis, { type RedisOptions } from 'ioredis';

/** A server's URL, or a Cluster node. */
export type Target = string | { readonly host: string; readonly port: number };

export interface ChannelEvents {
  message(text: string): void;
  /** The connection dropped, or an attempt failed before any succeeded: messages may be missed from now. */
  lost(): void;
  /** Subscribed again after `lost`: every message from now on is heard. */
  regained(): void;
}

const FIRST_DELAY_MS = 50;
const MAX_DELAY_MS = 1000;

export class ChannelSubscriber {
  /** Resolves once the channel is first listened to, or a first attempt failed. */
  readonly listening: Promise<void>;
  private settle!: () => void;
  private current: Redis | undefined;
  private attempts = 0;
  private failures = 0;
  private lost = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly targets: () => readonly Target[],
    private readonly channel: string,
    private readonly events: ChannelEvents,
  ) {
    this.listening = new Promise((resolve) => (this.settle = resolve));
    this.open();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.current?.disconnect();
    this.current = undefined;
  }

  private open(): void {
    if (this.closed) return;
    const list = this.targets();
    const target = list[this.attempts++ % list.length];
    // No reconnection by ioredis: a dropped connection is replaced here, possibly to another node.
    const options: RedisOptions = { retryStrategy: () => null, maxRetriesPerRequest: null, autoResubscribe: false };
    const connection = typeof target === 'string' ? new Redis(target, options) : new Redis({ ...target, ...options });
    this.current = connection;
    connection.on('error', () => {}); // a drop ends the connection: handled on 'end'
    connection.on('message', (channel: string, text: string) => {
      if (channel === this.channel && connection === this.current) this.events.message(text);
    });
    connection.once('end', () => this.dropped(connection));
    connection.subscribe(this.channel).then(
      () => {
        if (connection !== this.current || this.closed) return;
        this.failures = 0;
        this.settle();
        if (!this.lost) return;
        this.lost = false;
        this.events.regained();
      },
      () => connection.disconnect(), // then 'end'
    );
  }

  private dropped(connection: Redis): void {
    if (connection !== this.current || this.closed) return;
    this.current = undefined;
    this.settle();
    if (!this.lost) {
      this.lost = true;
      this.events.lost();
    }
    const delay = Math.min(FIRST_DELAY_MS * 2 ** this.failures++, MAX_DELAY_MS);
    this.timer = setTimeout(() => this.open(), delay);
    this.timer.unref();
  }
}
