import {
  channels,
  events,
  SocketMessage,
  type ArgsOf,
  type Channel,
  type DocTuneApi,
  type EventName,
  type EventOf,
  type ResultOf,
} from '$shared/contract';
import { ApiError } from './api-error';
import { uploadFiles, type UploadItem } from './upload';

export type ConnectionState = 'connecting' | 'open' | 'closed';

interface PendingRequest {
  channel: Channel;
  resolve: (result: unknown) => void;
  reject: (error: ApiError) => void;
}

const MIN_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 8000;

/**
 * Browser mode: the contract over one WebSocket (`/api?token=…`). Requests made while the socket is down wait
 * in a queue and go out once it opens; requests already sent when it drops fail with DISCONNECTED rather than
 * being replayed, since some (ingest.start) must not run twice.
 */
export class SocketApi implements DocTuneApi {
  private socket: WebSocket | null = null;
  private nextId = 1;
  private readonly inFlight = new Map<number, PendingRequest>();
  private readonly outbox: { id: number; text: string }[] = [];
  private readonly listeners = new Map<EventName, Set<(payload: unknown) => void>>();
  private readonly stateListeners = new Set<(state: ConnectionState) => void>();
  private failedAttempts = 0;
  private state: ConnectionState = 'connecting';

  constructor(
    private readonly url: string,
    private readonly token: string,
  ) {
    this.connect();
  }

  invoke<C extends Channel>(channel: C, args: ArgsOf<C>): Promise<ResultOf<C>> {
    const parsedArgs = channels[channel].args.safeParse(args ?? {});
    if (!parsedArgs.success) {
      return Promise.reject(new ApiError('BAD_ARGUMENT', parsedArgs.error.issues[0]?.message ?? 'invalid arguments'));
    }
    const id = this.nextId++;
    return new Promise<ResultOf<C>>((resolve, reject) => {
      this.inFlight.set(id, { channel, resolve: resolve as (result: unknown) => void, reject });
      this.outbox.push({ id, text: JSON.stringify({ id, channel, args: parsedArgs.data }) });
      this.flush();
    });
  }

  on<E extends EventName>(event: E, listener: (payload: EventOf<E>) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    const untyped = listener as (payload: unknown) => void;
    set.add(untyped);
    return () => set.delete(untyped);
  }

  upload(items: UploadItem[], onProgress?: (sent: number, total: number) => void): Promise<string[]> {
    return uploadFiles(this.token, items, onProgress);
  }

  /** Follow the connection (for a "reconnecting" banner and to refresh data after a gap). */
  onConnectionState(listener: (state: ConnectionState) => void): () => void {
    this.stateListeners.add(listener);
    listener(this.state);
    return () => this.stateListeners.delete(listener);
  }

  private setState(state: ConnectionState): void {
    if (state === this.state) return;
    this.state = state;
    for (const listener of this.stateListeners) listener(state);
  }

  private connect(): void {
    this.setState('connecting');
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.onopen = () => {
      this.failedAttempts = 0;
      this.setState('open');
      this.flush();
    };
    socket.onmessage = (message) => this.receive(message.data);
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.failAllInFlight();
      this.setState('closed');
      this.scheduleReconnect();
    };
  }

  private scheduleReconnect(): void {
    const base = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** this.failedAttempts);
    this.failedAttempts++;
    // Jitter so several tabs do not hammer a restarting server in lockstep.
    const delay = base / 2 + Math.random() * (base / 2);
    setTimeout(() => this.connect(), delay);
  }

  private flush(): void {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    for (const message of this.outbox.splice(0)) {
      // A request already abandoned (its socket died while queued) needs no sending.
      if (this.inFlight.has(message.id)) socket.send(message.text);
    }
  }

  private failAllInFlight(): void {
    const queued = new Set(this.outbox.map((m) => m.id));
    for (const [id, request] of this.inFlight) {
      if (queued.has(id)) continue;
      this.inFlight.delete(id);
      request.reject(new ApiError('DISCONNECTED', `connection lost during ${request.channel}`));
    }
  }

  private receive(data: unknown): void {
    let raw: unknown;
    try {
      raw = JSON.parse(String(data));
    } catch {
      console.warn('DocTune: ignoring a malformed message from the engine');
      return;
    }
    const parsed = SocketMessage.safeParse(raw);
    if (!parsed.success) {
      // A reply that is not one (an error without its code, say) still ends its request, rather than leaving it waiting.
      const id = (raw as { id?: unknown } | null)?.id;
      const request = typeof id === 'number' ? this.inFlight.get(id) : undefined;
      if (request && typeof id === 'number') {
        this.inFlight.delete(id);
        request.reject(new ApiError('BAD_RESPONSE', `${request.channel}: ${parsed.error.issues[0]?.message ?? 'invalid reply'}`));
      } else console.warn('DocTune: ignoring a malformed message from the engine', parsed.error.issues[0]);
      return;
    }
    const message = parsed.data;
    if ('event' in message) return this.dispatchEvent(message.event, message.payload);
    if (message.id === null) return;
    const request = this.inFlight.get(message.id);
    if (!request) return;
    this.inFlight.delete(message.id);
    if (message.ok) {
      const result = channels[request.channel].result.safeParse(message.result);
      if (result.success) request.resolve(result.data);
      else request.reject(new ApiError('BAD_RESPONSE', `${request.channel}: ${result.error.issues[0]?.message ?? 'invalid result'}`));
      return;
    }
    request.reject(ApiError.fromWire(message.error));
  }

  private dispatchEvent(name: string, payload: unknown): void {
    if (!Object.prototype.hasOwnProperty.call(events, name)) return;
    const event = name as EventName;
    const parsed = events[event].safeParse(payload);
    if (!parsed.success) {
      console.warn(`DocTune: ignoring an invalid ${event} event`, parsed.error.issues[0]);
      return;
    }
    for (const listener of this.listeners.get(event) ?? []) {
      try {
        listener(parsed.data);
      } catch (err) {
        // One faulty listener must not starve the others of events.
        console.error(`DocTune: ${event} listener failed`, err);
      }
    }
  }
}
