/**
 * Health of the gateway's parts (CONTRACT §4 `GET /api/health`). Every
 * service can contribute a component; required ones make the gateway
 * unhealthy when down, optional ones only degrade it.
 */
import type { ComponentHealth, HealthReport } from './contract/health.js';

export type { ComponentHealth, ComponentState, HealthReport } from './contract/health.js';

export interface HealthContributor {
  name: string;
  /** Required parts (HTTP, UDP) make the gateway unhealthy when down. */
  required: boolean;
  check(): ComponentHealth;
}


export class HealthService {
  private readonly contributors: Array<HealthContributor | (() => HealthContributor[])> = [];

  register(contributor: HealthContributor): void {
    this.contributors.push(contributor);
  }

  /** A set of components that changes at run time (one per pipeline connector and sink). */
  registerGroup(contributors: () => HealthContributor[]): void {
    this.contributors.push(contributors);
  }

  report(): HealthReport {
    const components: Record<string, ComponentHealth> = {};
    let unhealthy = false;
    let degraded = false;
    for (const c of this.contributors.flatMap((x) => (typeof x === 'function' ? x() : [x]))) {
      let health: ComponentHealth;
      try {
        health = c.check();
      } catch (err) {
        health = { status: 'down', error: String(err) };
      }
      components[c.name] = health;
      if (health.status === 'down') {
        if (c.required) unhealthy = true;
        else degraded = true;
      }
    }
    return {
      status: unhealthy ? 'unhealthy' : degraded ? 'degraded' : 'healthy',
      timestamp: new Date().toISOString(),
      components,
    };
  }
}
