// The view of live sessions the admin API needs; the session registry implements it.

export interface SessionInfo {
  id: string;
  grantId: string;
  identity: string;
  login?: string;
  target: string;
  database: string;
  protocol: string;
  client: string;
  startedAt: string;
  expiresAt?: string;
  /** which broker instance holds the client socket */
  instance: string;
  /** statements decided so far (sessions of other instances: as of their last heartbeat) */
  statements?: number;
}

export interface SessionsPort {
  /** sessions of every broker instance */
  list(): Promise<SessionInfo[]>;
  /** false when no instance knows the session */
  kill(id: string, actor: string): Promise<boolean>;
}
