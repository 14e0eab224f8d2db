// A grader-side service that an env knob hosts before the learner's server starts (a slow upstream, a
// webhook receiver) and that checks need again: kept here by its URL, found from ctx.env, forgotten at
// teardown (a long --watch session must not keep every run's service).
import type { CheckContext, EnvContext } from '../types.ts';
import type { HostedHandler } from './hosted.ts';

export class HostedByEnv<T> {
  private readonly byUrl = new Map<string, T>();

  /** `envName`: the variable whose value is the URL (e.g. UPSTREAM_URL). */
  constructor(private readonly envName: string) {}

  /** Hosts `handler` for `item`; returns the URL (the hosted server's, plus `path`) to put in the env. */
  async host(run: EnvContext, item: T, handler: HostedHandler, path = ''): Promise<string> {
    const hosted = await run.hostHttp(handler);
    const url = `${hosted.url.replace(/\/$/, '')}${path}`;
    this.byUrl.set(url, item);
    const close = hosted.close.bind(hosted);
    hosted.close = () => {
      this.byUrl.delete(url);
      return close();
    };
    return url;
  }

  /** The item this run hosted (a grader bug if there is none). */
  of(ctx: CheckContext): T {
    const url = ctx.env[this.envName];
    const item = this.byUrl.get(url);
    if (item === undefined) throw new Error(`${this.envName} (${url}) is not a server hosted by this run`);
    return item;
  }
}
