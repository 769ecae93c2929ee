/**
 * A small method + path router. Patterns are literal segments and `:name` parameters; a parameter
 * may be last and greedy (`:name*`) for names containing '/', such as image references.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
  /** API version of the request (`1.50` when the path had no prefix). */
  version: string;
}

export type Handler = (ctx: RequestContext) => Promise<void> | void;

interface Route {
  method: string;
  segments: string[];
  handler: Handler;
}

export class Router {
  private readonly routes: Route[] = [];
  /** Called before every matched request's handler; throwing refuses it (see space-guard.ts). */
  changeGuard?: (method: string, path: string) => Promise<void>;

  on(method: string, pattern: string, handler: Handler): this {
    this.routes.push({ method, segments: pattern.split('/').filter(Boolean), handler });
    return this;
  }

  match(method: string, path: string): { handler: Handler; params: Record<string, string> } | undefined {
    const parts = path.split('/').filter(Boolean).map(safeDecode);
    for (const r of this.routes) {
      if (r.method !== method && !(method === 'HEAD' && r.method === 'GET')) continue;
      const params = matchSegments(r.segments, parts);
      if (params) return { handler: r.handler, params };
    }
    return undefined;
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function matchSegments(pattern: string[], parts: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i] as string;
    if (p.startsWith(':') && p.endsWith('*')) {
      // Greedy: takes the rest but leaves as many parts as literal segments follow it.
      const tail = pattern.length - i - 1;
      const take = parts.length - i - tail;
      if (take < 1) return undefined;
      params[p.slice(1, -1)] = parts.slice(i, i + take).join('/');
      const rest = matchSegments(pattern.slice(i + 1), parts.slice(i + take));
      return rest ? { ...params, ...rest } : undefined;
    }
    const part = parts[i];
    if (part === undefined) return undefined;
    if (p.startsWith(':')) params[p.slice(1)] = part;
    else if (p !== part) return undefined;
  }
  return parts.length === pattern.length ? params : undefined;
}
