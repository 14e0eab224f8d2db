// A grader-side service that an env knob hosts before the learner's server starts (a slow upstream, a
// webhook receiver) and that checks need again: kept here by its URL, found from ctx.env, forgotten at
// teardown (a long --watch session must not keep every run's service).
import type { CheckContext, EnvContext } from '../types.ts';
import type { HostedHandler } from './hosted.ts';

/** Things a run hosted, kept by the env value that names them, found again from ctx.env in a check. */
export class ByEnvValue<T> {
  protected readonly byValue = new Map<string, T>();

  /** `envName`: the variable whose value names the item (e.g. UPSTREAM_URL). */
  constructor(protected readonly envName: string) {}

  /** Keeps `item` under `value`; the function returned forgets it (call it at the run's teardown). */
  protected remember(value: string, item: T): () => void {
    this.byValue.set(value, item);
    return () => this.byValue.delete(value);
  }

  /** The item this run hosted (a grader bug if there is none). */
  of(ctx: CheckContext): T {
    const value = ctx.env[this.envName];
    const item = value === undefined ? undefined : this.byValue.get(value);
    if (item === undefined) throw new Error(`${this.envName} (${value}) is not something hosted by this run`);
    return item;
  }
}

export class HostedByEnv<T> extends ByEnvValue<T> {

  /** Hosts `handler` for `item`; returns the URL (the hosted server's, plus `path`) to put in the env. */
  async host(run: EnvContext, item: T, handler: HostedHandler, path = ''): Promise<string> {
    const hosted = await run.hostHttp(handler);
    const url = `${hosted.url.replace(/\/$/, '')}${path}`;
    const forget = this.remember(url, item);
    const close = hosted.close.bind(hosted);
    hosted.close = () => {
      forget();
      return close();
    };
    return url;
  }
}
