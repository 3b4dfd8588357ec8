/**
 * Routes requests to handlers by the OpenAPI path templates: each spec operation becomes a
 * method + path pattern; operations without a handler answer 501 (the spec knows them, the
 * sandbox does not implement them).
 */
import { operations, type Operation } from '../openapi.ts';
import type { Handler } from './context.ts';

export interface RouteMatch {
  operation: Operation;
  handler?: Handler;
  params: Record<string, string>;
}

interface Route {
  operation: Operation;
  handler?: Handler;
  pattern: RegExp;
  paramNames: string[];
}

export class Router {
  private readonly exact = new Map<string, Route>();
  private readonly templated: Route[] = [];

  constructor(handlers: Record<string, Handler>) {
    for (const op of operations().values()) {
      const paramNames: string[] = [];
      const source = op.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_m, name: string) => {
        paramNames.push(name);
        return '([^/]+)';
      });
      const route: Route = {
        operation: op,
        handler: handlers[op.operationId],
        pattern: new RegExp(`^${source}$`),
        paramNames,
      };
      if (paramNames.length === 0) this.exact.set(`${op.method} ${op.path}`, route);
      else this.templated.push(route);
    }
    for (const id of Object.keys(handlers)) {
      if (!operations().has(id)) throw new Error(`handler for unknown operationId ${id}`);
    }
  }

  match(method: string, pathname: string): RouteMatch | undefined {
    const hit = this.exact.get(`${method} ${pathname}`);
    if (hit) return { operation: hit.operation, handler: hit.handler, params: {} };
    for (const route of this.templated) {
      if (route.operation.method !== method) continue;
      const m = route.pattern.exec(pathname);
      if (!m) continue;
      const params: Record<string, string> = {};
      try {
        route.paramNames.forEach((name, i) => (params[name] = decodeURIComponent(m[i + 1]!)));
      } catch {
        return undefined;
      }
      return { operation: route.operation, handler: route.handler, params };
    }
    return undefined;
  }
}
