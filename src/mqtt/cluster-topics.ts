/**
 * The topic layout of the cluster on MQTT (docs/mqtt.md), under a prefix that
 * defaults to `spore/<gateway id>`:
 *
 *   <prefix>/status                             online | offline (retained; offline is the last will)
 *   <prefix>/cluster                            cluster summary (retained)
 *   <prefix>/nodes/<hostname>/state             node state (retained; emptied when the node leaves)
 *   <prefix>/events/<gateway topic>             gateway events, e.g. events/node/discovery
 *   <prefix>/nodes/<hostname>/command           commands in: {"method","uri","params","id"}
 *   <prefix>/nodes/<hostname>/command/response  answers (unless an MQTT 5 response topic is given)
 */
export class ClusterTopics {
  readonly availability: string;
  readonly cluster: string;
  readonly commandFilter: string;
  private readonly nodesPrefix: string;

  constructor(readonly prefix: string) {
    this.availability = `${prefix}/status`;
    this.cluster = `${prefix}/cluster`;
    this.nodesPrefix = `${prefix}/nodes/`;
    this.commandFilter = `${prefix}/nodes/+/command`;
  }

  nodeState(hostname: string): string {
    return `${this.nodesPrefix}${hostname}/state`;
  }

  event(topic: string): string {
    return `${this.prefix}/events/${topic}`;
  }

  commandResponse(hostname: string): string {
    return `${this.nodesPrefix}${hostname}/command/response`;
  }

  /** The hostname of `<prefix>/nodes/<hostname>/command`, or undefined for any other topic. */
  commandHostname(topic: string): string | undefined {
    if (!topic.startsWith(this.nodesPrefix) || !topic.endsWith('/command')) return undefined;
    const hostname = topic.slice(this.nodesPrefix.length, -'/command'.length);
    return hostname.length > 0 && !hostname.includes('/') ? hostname : undefined;
  }

  /** Retained topics only this gateway publishes: status, cluster summary, node states. */
  isOwnRetained(topic: string): boolean {
    if (topic === this.availability || topic === this.cluster) return true;
    if (!topic.startsWith(this.nodesPrefix) || !topic.endsWith('/state')) return false;
    return !topic.slice(this.nodesPrefix.length, -'/state'.length).includes('/');
  }
}
